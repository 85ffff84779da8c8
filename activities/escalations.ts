import { randomUUID } from 'node:crypto';
import { audit } from '../src/audit';
import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import type { PrismaClient } from '../src/db';
import { DEFAULT_ESCALATION_POLICIES } from '../src/domain/defaults';
import {
  escalationWorkflowId,
  REPEAT_THRESHOLD,
  REPEAT_WINDOW_DAYS,
  type SeverityPolicies,
} from '../src/domain/escalation';
import type { Severity } from '../src/domain/types';
import type { EscalationInput, EscalationStepRecord } from '../workflows/escalation.messages';

export interface OpenEscalationInput {
  engagementId: string;
  severity: Severity;
  category: string;
  title: string;
  description: string;
  raisedBy: string;
  raisedAt: string;
  /** Business key of the event that raised it: the same key never opens a second escalation. */
  key: string;
}

/**
 * Records an escalation and starts the workflow that makes it climb. Idempotent on the key (row) and on the
 * workflow id (USE_EXISTING). Used by workflows (as an activity) and by the API alike.
 */
export async function openEscalation(
  prisma: PrismaClient,
  client: Client,
  taskQueue: string,
  input: OpenEscalationInput,
): Promise<{ escalationId: string; workflowId: string }> {
  const idempotencyKey = `${input.engagementId}/${input.key}`;
  const engagement = await prisma.engagement.findUniqueOrThrow({
    where: { id: input.engagementId },
    include: { escalationLevels: { orderBy: { level: 'asc' } }, escalationPolicies: true },
  });
  const raisedAt = new Date(input.raisedAt);
  const escalation = await prisma.$transaction(async (tx) => {
    const existing = await tx.escalation.findUnique({ where: { idempotencyKey } });
    if (existing) return existing;
    const since = new Date(raisedAt.getTime() - REPEAT_WINDOW_DAYS * 86_400_000);
    const earlier = await tx.escalation.count({
      where: { engagementId: input.engagementId, category: input.category, raisedAt: { gte: since } },
    });
    const created = await tx.escalation.create({
      data: {
        engagementId: input.engagementId,
        severity: input.severity,
        category: input.category,
        title: input.title,
        description: input.description,
        raisedBy: input.raisedBy,
        raisedAt,
        idempotencyKey,
        requiresRootCause: earlier + 1 >= REPEAT_THRESHOLD,
        steps: {
          create: {
            level: 1,
            action: 'raised',
            actor: input.raisedBy,
            note: input.description,
            idempotencyKey: `${idempotencyKey}/raised`,
          },
        },
      },
    });
    await audit(tx, {
      actor: input.raisedBy,
      action: 'escalation.raise',
      entityType: 'Escalation',
      entityId: created.id,
      after: created,
    });
    return created;
  });
  const policies = Object.fromEntries(
    DEFAULT_ESCALATION_POLICIES.map((d) => {
      const own = engagement.escalationPolicies.find((p) => p.severity === d.severity);
      const p = own ?? d;
      return [
        d.severity,
        { acknowledgeSeconds: p.acknowledgeSeconds, resolveSeconds: p.resolveSeconds, businessHours: p.businessHours },
      ];
    }),
  ) as SeverityPolicies;
  const levels = engagement.escalationLevels.length
    ? engagement.escalationLevels.map(({ level, role, contactName, contactEmail }) => ({
        level,
        role,
        contactName,
        contactEmail,
      }))
    : [{ level: 1, role: 'program manager', contactName: 'Program manager', contactEmail: '' }];
  const workflowInput: EscalationInput = {
    escalationId: escalation.id,
    engagementId: input.engagementId,
    severity: escalation.severity,
    title: escalation.title,
    category: escalation.category,
    raisedAt: escalation.raisedAt.toISOString(),
    timeZone: engagement.timeZone,
    levels,
    policies,
    requiresRootCause: escalation.requiresRootCause,
  };
  const workflowId = escalationWorkflowId(escalation.id);
  await client.workflow.start('escalation', {
    workflowId,
    taskQueue,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    args: [workflowInput],
  });
  return { escalationId: escalation.id, workflowId };
}

/** Steps a person took (or a changed severity): each is also written to the audit log. */
const AUDITED_STEPS = ['acknowledged', 'resolved', 'reassigned', 'severity-changed'];

export function createEscalationActivities(prisma: PrismaClient, client: Client, taskQueue: string) {
  return {
    async raiseEscalation(input: OpenEscalationInput): Promise<{ escalationId: string }> {
      const { escalationId } = await openEscalation(prisma, client, taskQueue, input);
      return { escalationId };
    },

    /** Records one step of an escalation's history and the escalation's new state, once per step number. */
    async recordEscalationStep(input: {
      escalationId: string;
      stepNumber: number;
      step: EscalationStepRecord;
      update: {
        status?: 'OPEN' | 'ACKNOWLEDGED' | 'RESOLVED';
        currentLevel?: number;
        severity?: Severity;
        assignee?: string;
        resolution?: string;
        rootCause?: string;
      };
    }): Promise<void> {
      const idempotencyKey = `${input.escalationId}/step-${input.stepNumber}`;
      const at = new Date(input.step.at);
      const { status, currentLevel, severity, assignee, resolution, rootCause } = input.update;
      const audited = AUDITED_STEPS.includes(input.step.action);
      // One statement, so one implicit transaction: the step is inserted once per step number, and only the
      // attempt that inserted it changes the escalation and writes the audit entry; a retry (or a concurrent twin)
      // finds the step there and changes nothing. A missing escalation fails on the step's foreign key.
      await prisma.$executeRaw`
        WITH step AS (
          INSERT INTO "EscalationStep" ("id", "escalationId", "level", "action", "actor", "note", "occurredAt", "idempotencyKey")
          VALUES (${randomUUID()}::uuid, ${input.escalationId}::uuid, ${input.step.level}::int, ${input.step.action},
                  ${input.step.actor}, ${input.step.note ?? null}, ${at}, ${idempotencyKey})
          ON CONFLICT ("idempotencyKey") DO NOTHING
          RETURNING 1
        ), escalation AS (
          UPDATE "Escalation" SET
            "status" = COALESCE(${status ?? null}::"EscalationStatus", "status"),
            "currentLevel" = COALESCE(${currentLevel ?? null}::int, "currentLevel"),
            "severity" = COALESCE(${severity ?? null}::"Severity", "severity"),
            "assignee" = COALESCE(${assignee ?? null}, "assignee"),
            "resolution" = COALESCE(${resolution ?? null}, "resolution"),
            "rootCause" = COALESCE(${rootCause ?? null}, "rootCause"),
            "acknowledgedAt" = COALESCE(${status === 'ACKNOWLEDGED' ? at : null}::timestamp(3), "acknowledgedAt"),
            "resolvedAt" = COALESCE(${status === 'RESOLVED' ? at : null}::timestamp(3), "resolvedAt")
          WHERE "id" = ${input.escalationId}::uuid AND EXISTS (SELECT FROM step)
        )
        INSERT INTO "AuditLog" ("id", "actor", "action", "entityType", "entityId", "after", "idempotencyKey", "at")
        SELECT ${randomUUID()}::uuid, ${input.step.actor}, ${`escalation.${input.step.action}`}, 'Escalation',
               ${input.escalationId}, ${JSON.stringify({ ...input.update, note: input.step.note ?? null })}::jsonb,
               ${`audit/${idempotencyKey}`}, ${new Date()}
        WHERE ${audited} AND EXISTS (SELECT FROM step)`;
    },
  };
}
