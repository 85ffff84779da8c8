-- CreateTable
CREATE TABLE "MonthlyFeeChange" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "effectiveFrom" DATE NOT NULL,
    "previousMonthlyFee" DECIMAL(14,2) NOT NULL,
    "monthlyFee" DECIMAL(14,2) NOT NULL,
    "changedBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MonthlyFeeChange_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "MonthlyFeeChange_engagementId_effectiveFrom_key" ON "MonthlyFeeChange"("engagementId", "effectiveFrom");

-- AddForeignKey
ALTER TABLE "MonthlyFeeChange" ADD CONSTRAINT "MonthlyFeeChange_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE CASCADE ON UPDATE CASCADE;

