-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "DeliveryModel" AS ENUM ('ONSHORE', 'NEARSHORE', 'OFFSHORE');

-- CreateEnum
CREATE TYPE "SourcingApproach" AS ENUM ('STRATEGIC', 'TACTICAL');

-- CreateEnum
CREATE TYPE "LifecycleStage" AS ENUM ('CONTRACTED', 'TRANSITION', 'STEADY_STATE', 'RENEWAL', 'EXIT', 'CLOSED');

-- CreateTable
CREATE TABLE "Vendor" (
    "id" UUID NOT NULL,
    "legalName" TEXT NOT NULL,
    "deliveryModel" "DeliveryModel" NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Vendor_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Engagement" (
    "id" UUID NOT NULL,
    "vendorId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "clientOrganisation" TEXT NOT NULL,
    "sourcingApproach" "SourcingApproach" NOT NULL,
    "termStart" DATE NOT NULL,
    "termEnd" DATE NOT NULL,
    "monthlyFee" DECIMAL(14,2) NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "stage" "LifecycleStage" NOT NULL DEFAULT 'CONTRACTED',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Engagement_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StageChange" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "fromStage" "LifecycleStage" NOT NULL,
    "toStage" "LifecycleStage" NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "occurredAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StageChange_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Vendor_legalName_key" ON "Vendor"("legalName");

-- CreateIndex
CREATE INDEX "Engagement_vendorId_idx" ON "Engagement"("vendorId");

-- CreateIndex
CREATE INDEX "Engagement_stage_idx" ON "Engagement"("stage");

-- CreateIndex
CREATE UNIQUE INDEX "StageChange_idempotencyKey_key" ON "StageChange"("idempotencyKey");

-- CreateIndex
CREATE INDEX "StageChange_engagementId_idx" ON "StageChange"("engagementId");

-- AddForeignKey
ALTER TABLE "Engagement" ADD CONSTRAINT "Engagement_vendorId_fkey" FOREIGN KEY ("vendorId") REFERENCES "Vendor"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StageChange" ADD CONSTRAINT "StageChange_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

