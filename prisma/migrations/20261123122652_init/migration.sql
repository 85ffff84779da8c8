-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "DeliveryModel" AS ENUM ('ONSHORE', 'NEARSHORE', 'OFFSHORE');

-- CreateEnum
CREATE TYPE "ServiceLine" AS ENUM ('FRONT_OFFICE', 'BACK_OFFICE', 'ITES', 'KPO', 'LPO', 'RPO');

-- CreateEnum
CREATE TYPE "CertificationKind" AS ENUM ('ISO_27001', 'SOC_2', 'PCI_DSS', 'HIPAA', 'OTHER');

-- CreateEnum
CREATE TYPE "SourcingApproach" AS ENUM ('STRATEGIC', 'TACTICAL');

-- CreateEnum
CREATE TYPE "LifecycleStage" AS ENUM ('CONTRACTED', 'TRANSITION', 'STEADY_STATE', 'RENEWAL', 'EXIT', 'CLOSED');

-- CreateEnum
CREATE TYPE "RenewalDecision" AS ENUM ('RENEW', 'RENEGOTIATE', 'EXIT');

-- CreateEnum
CREATE TYPE "Severity" AS ENUM ('P1', 'P2', 'P3', 'P4');

-- CreateEnum
CREATE TYPE "CouncilRole" AS ENUM ('EXECUTIVE_SPONSOR', 'PROGRAM_MANAGER', 'FINANCE', 'LEGAL', 'MEMBER');

-- CreateEnum
CREATE TYPE "KpiDirection" AS ENUM ('HIGHER_IS_BETTER', 'LOWER_IS_BETTER');

-- CreateEnum
CREATE TYPE "MeasurementPeriod" AS ENUM ('WEEKLY', 'MONTHLY', 'QUARTERLY');

-- CreateEnum
CREATE TYPE "PhaseKind" AS ENUM ('KNOWLEDGE_TRANSFER', 'SHADOWING', 'REVERSE_SHADOWING', 'PILOT', 'RAMP_WAVE', 'STABILISATION', 'STEADY_STATE');

-- CreateEnum
CREATE TYPE "PhaseStatus" AS ENUM ('PENDING', 'ACTIVE', 'HELD', 'PASSED', 'OVERRIDDEN', 'CANCELLED');

-- CreateEnum
CREATE TYPE "ReviewCadence" AS ENUM ('WEEKLY', 'MONTHLY', 'QUARTERLY', 'ANNUAL');

-- CreateEnum
CREATE TYPE "ActionItemStatus" AS ENUM ('OPEN', 'DONE', 'CANCELLED');

-- CreateEnum
CREATE TYPE "EscalationStatus" AS ENUM ('OPEN', 'ACKNOWLEDGED', 'RESOLVED');

-- CreateEnum
CREATE TYPE "ExitStepKind" AS ENUM ('KNOWLEDGE_RETRANSFER', 'DATA_RETURN_AND_DELETION', 'IP_AND_ASSET_HANDOVER', 'ACCESS_REVOCATION', 'FINAL_RECONCILIATION');

-- CreateEnum
CREATE TYPE "ChangeRequestStatus" AS ENUM ('PROPOSED', 'APPROVED', 'REJECTED', 'IMPLEMENTED');

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('ADMIN', 'PROGRAM_MANAGER', 'EXECUTIVE', 'VENDOR', 'VIEWER');

-- CreateTable
CREATE TABLE "Vendor" (
    "id" UUID NOT NULL,
    "legalName" TEXT NOT NULL,
    "deliveryModel" "DeliveryModel" NOT NULL,
    "serviceLines" "ServiceLine"[],
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Vendor_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "VendorCertification" (
    "id" UUID NOT NULL,
    "vendorId" UUID NOT NULL,
    "kind" "CertificationKind" NOT NULL,
    "name" TEXT,
    "expiresOn" DATE NOT NULL,

    CONSTRAINT "VendorCertification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "VendorContact" (
    "id" UUID NOT NULL,
    "vendorId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "phone" TEXT,

    CONSTRAINT "VendorContact_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Engagement" (
    "id" UUID NOT NULL,
    "vendorId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "clientOrganisation" TEXT NOT NULL,
    "processesInScope" TEXT[],
    "sourcingApproach" "SourcingApproach" NOT NULL,
    "termStart" DATE NOT NULL,
    "termEnd" DATE NOT NULL,
    "monthlyFee" DECIMAL(14,2) NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "renewalNoticeDays" INTEGER NOT NULL,
    "autoRenew" BOOLEAN NOT NULL DEFAULT false,
    "defaultRenewalDecision" "RenewalDecision" NOT NULL DEFAULT 'EXIT',
    "atRiskPct" DECIMAL(5,2) NOT NULL,
    "exitTriggers" TEXT[],
    "timeZone" TEXT NOT NULL DEFAULT 'UTC',
    "reviewCadences" "ReviewCadence"[] DEFAULT ARRAY['WEEKLY', 'MONTHLY', 'QUARTERLY', 'ANNUAL']::"ReviewCadence"[],
    "reviewGraceSeconds" INTEGER NOT NULL DEFAULT 259200,
    "stage" "LifecycleStage" NOT NULL DEFAULT 'CONTRACTED',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Engagement_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "EscalationLevel" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "level" INTEGER NOT NULL,
    "role" TEXT NOT NULL,
    "contactName" TEXT NOT NULL,
    "contactEmail" TEXT NOT NULL,

    CONSTRAINT "EscalationLevel_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "EscalationPolicy" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "severity" "Severity" NOT NULL,
    "acknowledgeSeconds" INTEGER NOT NULL,
    "resolveSeconds" INTEGER NOT NULL,
    "businessHours" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "EscalationPolicy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CouncilMember" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "role" "CouncilRole" NOT NULL,

    CONSTRAINT "CouncilMember_pkey" PRIMARY KEY ("id")
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

-- CreateTable
CREATE TABLE "Sla" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "unit" TEXT NOT NULL,
    "direction" "KpiDirection" NOT NULL,
    "target" DECIMAL(14,4) NOT NULL,
    "minimum" DECIMAL(14,4) NOT NULL,
    "weight" DECIMAL(7,4) NOT NULL,
    "measurementPeriod" "MeasurementPeriod" NOT NULL,
    "mandatoryForGates" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "Sla_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ServiceCreditTier" (
    "id" UUID NOT NULL,
    "slaId" UUID NOT NULL,
    "maxShortfall" DECIMAL(14,4),
    "creditPct" DECIMAL(5,2) NOT NULL,

    CONSTRAINT "ServiceCreditTier_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "KpiSubmission" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "periodStart" DATE NOT NULL,
    "periodEnd" DATE NOT NULL,
    "source" TEXT NOT NULL,
    "submittedBy" TEXT NOT NULL,
    "submittedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "idempotencyKey" TEXT,

    CONSTRAINT "KpiSubmission_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "KpiMeasurement" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "slaId" UUID NOT NULL,
    "submissionId" UUID NOT NULL,
    "periodStart" DATE NOT NULL,
    "periodEnd" DATE NOT NULL,
    "value" DECIMAL(14,4) NOT NULL,
    "version" INTEGER NOT NULL,
    "supersededAt" TIMESTAMP(3),
    "source" TEXT NOT NULL,
    "submittedBy" TEXT NOT NULL,
    "submittedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "KpiMeasurement_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TransitionPlan" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "gateThreshold" DECIMAL(5,2) NOT NULL,
    "holdSeconds" INTEGER NOT NULL,
    "maxConsecutiveFailures" INTEGER NOT NULL,
    "rollbackOnEscalation" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TransitionPlan_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TransitionPhase" (
    "id" UUID NOT NULL,
    "planId" UUID NOT NULL,
    "sequence" INTEGER NOT NULL,
    "kind" "PhaseKind" NOT NULL,
    "name" TEXT NOT NULL,
    "volumePct" INTEGER NOT NULL,
    "minDurationSeconds" INTEGER NOT NULL,
    "gated" BOOLEAN NOT NULL DEFAULT true,
    "status" "PhaseStatus" NOT NULL DEFAULT 'PENDING',
    "startedAt" TIMESTAMP(3),
    "completedAt" TIMESTAMP(3),

    CONSTRAINT "TransitionPhase_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "GateEvaluation" (
    "id" UUID NOT NULL,
    "phaseId" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "passed" BOOLEAN NOT NULL,
    "score" DECIMAL(7,2),
    "details" JSONB NOT NULL,
    "overriddenBy" TEXT,
    "overrideReason" TEXT,
    "evaluatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "GateEvaluation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "VolumeChange" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "fromPct" INTEGER NOT NULL,
    "toPct" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "occurredAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "idempotencyKey" TEXT NOT NULL,

    CONSTRAINT "VolumeChange_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Review" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "cadence" "ReviewCadence" NOT NULL,
    "periodStart" DATE NOT NULL,
    "periodEnd" DATE NOT NULL,
    "overallScore" DECIMAL(7,2),
    "scorecard" JSONB NOT NULL,
    "creditsTotal" DECIMAL(14,2) NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Review_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ServiceCredit" (
    "id" UUID NOT NULL,
    "reviewId" UUID NOT NULL,
    "slaKey" TEXT NOT NULL,
    "amount" DECIMAL(14,2) NOT NULL,
    "arithmetic" TEXT NOT NULL,

    CONSTRAINT "ServiceCredit_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ActionItem" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "reviewId" UUID,
    "escalationId" UUID,
    "title" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "dueOn" DATE NOT NULL,
    "status" "ActionItemStatus" NOT NULL DEFAULT 'OPEN',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ActionItem_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Escalation" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "severity" "Severity" NOT NULL,
    "category" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "status" "EscalationStatus" NOT NULL DEFAULT 'OPEN',
    "currentLevel" INTEGER NOT NULL DEFAULT 1,
    "assignee" TEXT,
    "requiresRootCause" BOOLEAN NOT NULL DEFAULT false,
    "raisedBy" TEXT NOT NULL,
    "raisedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "acknowledgedAt" TIMESTAMP(3),
    "resolvedAt" TIMESTAMP(3),
    "resolution" TEXT,
    "rootCause" TEXT,
    "idempotencyKey" TEXT,

    CONSTRAINT "Escalation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "EscalationStep" (
    "id" UUID NOT NULL,
    "escalationId" UUID NOT NULL,
    "level" INTEGER NOT NULL,
    "action" TEXT NOT NULL,
    "note" TEXT,
    "actor" TEXT NOT NULL,
    "occurredAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "idempotencyKey" TEXT NOT NULL,

    CONSTRAINT "EscalationStep_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RenewalEvaluation" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "termEnd" DATE NOT NULL,
    "recommendation" "RenewalDecision" NOT NULL,
    "reasons" TEXT[],
    "scorecard" JSONB NOT NULL,
    "decision" "RenewalDecision",
    "decidedBy" TEXT,
    "decidedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RenewalEvaluation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ExitPlan" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "reason" TEXT NOT NULL,
    "forCause" BOOLEAN NOT NULL DEFAULT false,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMP(3),

    CONSTRAINT "ExitPlan_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ExitStep" (
    "id" UUID NOT NULL,
    "planId" UUID NOT NULL,
    "kind" "ExitStepKind" NOT NULL,
    "owner" TEXT NOT NULL,
    "dueOn" DATE NOT NULL,
    "completedAt" TIMESTAMP(3),
    "completedBy" TEXT,
    "evidence" TEXT,

    CONSTRAINT "ExitStep_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChangeRequest" (
    "id" UUID NOT NULL,
    "engagementId" UUID NOT NULL,
    "title" TEXT NOT NULL,
    "changePlan" TEXT NOT NULL,
    "effectiveOn" DATE NOT NULL,
    "status" "ChangeRequestStatus" NOT NULL DEFAULT 'PROPOSED',
    "requestedBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ChangeRequest_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "keyHash" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "vendorId" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditLog" (
    "id" UUID NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "entityType" TEXT NOT NULL,
    "entityId" TEXT NOT NULL,
    "before" JSONB,
    "after" JSONB,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "idempotencyKey" TEXT,

    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Notification" (
    "id" UUID NOT NULL,
    "eventKey" TEXT NOT NULL,
    "engagementId" UUID,
    "recipient" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "channels" TEXT[],
    "sentAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Notification_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Vendor_legalName_key" ON "Vendor"("legalName");

-- CreateIndex
CREATE INDEX "VendorCertification_vendorId_idx" ON "VendorCertification"("vendorId");

-- CreateIndex
CREATE INDEX "VendorContact_vendorId_idx" ON "VendorContact"("vendorId");

-- CreateIndex
CREATE INDEX "Engagement_vendorId_idx" ON "Engagement"("vendorId");

-- CreateIndex
CREATE INDEX "Engagement_stage_idx" ON "Engagement"("stage");

-- CreateIndex
CREATE UNIQUE INDEX "EscalationLevel_engagementId_level_key" ON "EscalationLevel"("engagementId", "level");

-- CreateIndex
CREATE UNIQUE INDEX "EscalationPolicy_engagementId_severity_key" ON "EscalationPolicy"("engagementId", "severity");

-- CreateIndex
CREATE INDEX "CouncilMember_engagementId_idx" ON "CouncilMember"("engagementId");

-- CreateIndex
CREATE UNIQUE INDEX "StageChange_idempotencyKey_key" ON "StageChange"("idempotencyKey");

-- CreateIndex
CREATE INDEX "StageChange_engagementId_idx" ON "StageChange"("engagementId");

-- CreateIndex
CREATE UNIQUE INDEX "Sla_engagementId_key_key" ON "Sla"("engagementId", "key");

-- CreateIndex
CREATE INDEX "ServiceCreditTier_slaId_idx" ON "ServiceCreditTier"("slaId");

-- CreateIndex
CREATE INDEX "KpiSubmission_engagementId_periodStart_idx" ON "KpiSubmission"("engagementId", "periodStart");

-- CreateIndex
CREATE UNIQUE INDEX "KpiSubmission_engagementId_idempotencyKey_key" ON "KpiSubmission"("engagementId", "idempotencyKey");

-- CreateIndex
CREATE INDEX "KpiMeasurement_engagementId_periodStart_idx" ON "KpiMeasurement"("engagementId", "periodStart");

-- CreateIndex
CREATE INDEX "KpiMeasurement_submissionId_idx" ON "KpiMeasurement"("submissionId");

-- CreateIndex
CREATE UNIQUE INDEX "KpiMeasurement_slaId_periodStart_periodEnd_version_key" ON "KpiMeasurement"("slaId", "periodStart", "periodEnd", "version");

-- CreateIndex
CREATE UNIQUE INDEX "TransitionPlan_engagementId_key" ON "TransitionPlan"("engagementId");

-- CreateIndex
CREATE UNIQUE INDEX "TransitionPhase_planId_sequence_key" ON "TransitionPhase"("planId", "sequence");

-- CreateIndex
CREATE UNIQUE INDEX "GateEvaluation_phaseId_attempt_key" ON "GateEvaluation"("phaseId", "attempt");

-- CreateIndex
CREATE UNIQUE INDEX "VolumeChange_idempotencyKey_key" ON "VolumeChange"("idempotencyKey");

-- CreateIndex
CREATE INDEX "VolumeChange_engagementId_idx" ON "VolumeChange"("engagementId");

-- CreateIndex
CREATE UNIQUE INDEX "Review_engagementId_cadence_periodStart_key" ON "Review"("engagementId", "cadence", "periodStart");

-- CreateIndex
CREATE UNIQUE INDEX "ServiceCredit_reviewId_slaKey_key" ON "ServiceCredit"("reviewId", "slaKey");

-- CreateIndex
CREATE INDEX "ActionItem_engagementId_idx" ON "ActionItem"("engagementId");

-- CreateIndex
CREATE INDEX "ActionItem_reviewId_idx" ON "ActionItem"("reviewId");

-- CreateIndex
CREATE INDEX "ActionItem_escalationId_idx" ON "ActionItem"("escalationId");

-- CreateIndex
CREATE UNIQUE INDEX "Escalation_idempotencyKey_key" ON "Escalation"("idempotencyKey");

-- CreateIndex
CREATE INDEX "Escalation_engagementId_status_idx" ON "Escalation"("engagementId", "status");

-- CreateIndex
CREATE UNIQUE INDEX "EscalationStep_idempotencyKey_key" ON "EscalationStep"("idempotencyKey");

-- CreateIndex
CREATE INDEX "EscalationStep_escalationId_idx" ON "EscalationStep"("escalationId");

-- CreateIndex
CREATE UNIQUE INDEX "RenewalEvaluation_engagementId_termEnd_key" ON "RenewalEvaluation"("engagementId", "termEnd");

-- CreateIndex
CREATE UNIQUE INDEX "ExitPlan_engagementId_key" ON "ExitPlan"("engagementId");

-- CreateIndex
CREATE UNIQUE INDEX "ExitStep_planId_kind_key" ON "ExitStep"("planId", "kind");

-- CreateIndex
CREATE INDEX "ChangeRequest_engagementId_idx" ON "ChangeRequest"("engagementId");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_keyHash_key" ON "ApiKey"("keyHash");

-- CreateIndex
CREATE INDEX "ApiKey_vendorId_idx" ON "ApiKey"("vendorId");

-- CreateIndex
CREATE UNIQUE INDEX "AuditLog_idempotencyKey_key" ON "AuditLog"("idempotencyKey");

-- CreateIndex
CREATE INDEX "AuditLog_entityType_entityId_idx" ON "AuditLog"("entityType", "entityId");

-- CreateIndex
CREATE INDEX "AuditLog_at_idx" ON "AuditLog"("at");

-- CreateIndex
CREATE UNIQUE INDEX "Notification_eventKey_key" ON "Notification"("eventKey");

-- CreateIndex
CREATE INDEX "Notification_engagementId_idx" ON "Notification"("engagementId");

-- AddForeignKey
ALTER TABLE "VendorCertification" ADD CONSTRAINT "VendorCertification_vendorId_fkey" FOREIGN KEY ("vendorId") REFERENCES "Vendor"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "VendorContact" ADD CONSTRAINT "VendorContact_vendorId_fkey" FOREIGN KEY ("vendorId") REFERENCES "Vendor"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Engagement" ADD CONSTRAINT "Engagement_vendorId_fkey" FOREIGN KEY ("vendorId") REFERENCES "Vendor"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "EscalationLevel" ADD CONSTRAINT "EscalationLevel_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "EscalationPolicy" ADD CONSTRAINT "EscalationPolicy_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CouncilMember" ADD CONSTRAINT "CouncilMember_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StageChange" ADD CONSTRAINT "StageChange_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Sla" ADD CONSTRAINT "Sla_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ServiceCreditTier" ADD CONSTRAINT "ServiceCreditTier_slaId_fkey" FOREIGN KEY ("slaId") REFERENCES "Sla"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "KpiSubmission" ADD CONSTRAINT "KpiSubmission_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "KpiMeasurement" ADD CONSTRAINT "KpiMeasurement_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "KpiMeasurement" ADD CONSTRAINT "KpiMeasurement_slaId_fkey" FOREIGN KEY ("slaId") REFERENCES "Sla"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "KpiMeasurement" ADD CONSTRAINT "KpiMeasurement_submissionId_fkey" FOREIGN KEY ("submissionId") REFERENCES "KpiSubmission"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TransitionPlan" ADD CONSTRAINT "TransitionPlan_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TransitionPhase" ADD CONSTRAINT "TransitionPhase_planId_fkey" FOREIGN KEY ("planId") REFERENCES "TransitionPlan"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "GateEvaluation" ADD CONSTRAINT "GateEvaluation_phaseId_fkey" FOREIGN KEY ("phaseId") REFERENCES "TransitionPhase"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "VolumeChange" ADD CONSTRAINT "VolumeChange_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Review" ADD CONSTRAINT "Review_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ServiceCredit" ADD CONSTRAINT "ServiceCredit_reviewId_fkey" FOREIGN KEY ("reviewId") REFERENCES "Review"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ActionItem" ADD CONSTRAINT "ActionItem_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ActionItem" ADD CONSTRAINT "ActionItem_reviewId_fkey" FOREIGN KEY ("reviewId") REFERENCES "Review"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ActionItem" ADD CONSTRAINT "ActionItem_escalationId_fkey" FOREIGN KEY ("escalationId") REFERENCES "Escalation"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Escalation" ADD CONSTRAINT "Escalation_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "EscalationStep" ADD CONSTRAINT "EscalationStep_escalationId_fkey" FOREIGN KEY ("escalationId") REFERENCES "Escalation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RenewalEvaluation" ADD CONSTRAINT "RenewalEvaluation_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExitPlan" ADD CONSTRAINT "ExitPlan_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExitStep" ADD CONSTRAINT "ExitStep_planId_fkey" FOREIGN KEY ("planId") REFERENCES "ExitPlan"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ChangeRequest" ADD CONSTRAINT "ChangeRequest_engagementId_fkey" FOREIGN KEY ("engagementId") REFERENCES "Engagement"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_vendorId_fkey" FOREIGN KEY ("vendorId") REFERENCES "Vendor"("id") ON DELETE SET NULL ON UPDATE CASCADE;

