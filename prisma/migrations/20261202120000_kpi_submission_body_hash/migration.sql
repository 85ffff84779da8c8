-- AlterTable
ALTER TABLE "KpiSubmission" ADD COLUMN     "bodyHash" TEXT;
