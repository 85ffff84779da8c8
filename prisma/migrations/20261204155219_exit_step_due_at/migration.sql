-- AlterTable
ALTER TABLE "ExitStep" ADD COLUMN     "dueAt" TIMESTAMP(3);
