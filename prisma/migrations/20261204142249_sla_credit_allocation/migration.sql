-- AlterTable
ALTER TABLE "Engagement" ADD COLUMN     "creditPoolPct" DECIMAL(5,2) NOT NULL DEFAULT 100;

-- AlterTable
ALTER TABLE "Sla" ADD COLUMN     "creditAllocationPct" DECIMAL(5,2);
