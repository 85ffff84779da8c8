-- AlterTable
ALTER TABLE "RenewalEvaluation" ADD COLUMN     "decidedVia" TEXT,
ADD COLUMN     "decisionReason" TEXT,
ADD COLUMN     "newMonthlyFee" DECIMAL(14,2);
