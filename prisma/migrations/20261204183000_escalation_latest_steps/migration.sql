-- AlterTable
ALTER TABLE "Escalation" ADD COLUMN     "assigneeStep" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "severityStep" INTEGER NOT NULL DEFAULT 1;

-- The latest steps already stored that set the severity or the assignee (a step's number ends its key: .../step-N).
UPDATE "Escalation" x SET
  "severityStep" = COALESCE((SELECT max(substring(s."idempotencyKey" from '/step-([0-9]+)$')::int)
                             FROM "EscalationStep" s
                             WHERE s."escalationId" = x."id" AND s."action" = 'severity-changed'), 1),
  "assigneeStep" = COALESCE((SELECT max(substring(s."idempotencyKey" from '/step-([0-9]+)$')::int)
                             FROM "EscalationStep" s
                             WHERE s."escalationId" = x."id" AND s."action" = 'reassigned'), 0);
