-- CreateTable
CREATE TABLE "EngagementCreationKey" (
    "key" TEXT NOT NULL,
    "bodyHash" TEXT NOT NULL,
    "engagementId" UUID NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EngagementCreationKey_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE UNIQUE INDEX "EngagementCreationKey_engagementId_key" ON "EngagementCreationKey"("engagementId");

-- AddForeignKey
ALTER TABLE "EngagementCreationKey" ADD CONSTRAINT "EngagementCreationKey_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE CASCADE ON UPDATE CASCADE;

