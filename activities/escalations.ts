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
      await prisma.$transaction(async (tx) => {
        if (await tx.escalationStep.findUnique({ where: { idempotencyKey } })) return;
        const at = new Date(input.step.at);
        await tx.escalationStep.create({
          data: {
            escalationId: input.escalationId,
            level: input.step.level,
            action: input.step.action,
            actor: input.step.actor,
            note: input.step.note,
            occurredAt: at,
            idempotencyKey,
          },
        });
        await tx.escalation.update({
          where: { id: input.escalationId },
          data: {
            ...input.update,
            ...(input.update.status === 'ACKNOWLEDGED' && { acknowledgedAt: at }),
            ...(input.update.status === 'RESOLVED' && { resolvedAt: at }),
          },
        });
        if (['acknowledged', 'resolved', 'reassigned', 'severity-changed'].includes(input.step.action)) {
          await tx.auditLog.create({
            data: {
              actor: input.step.actor,
              action: `escalation.${input.step.action}`,
              entityType: 'Escalation',
              entityId: input.escalationId,
              after: { ...input.update, note: input.step.note ?? null },
              idempotencyKey: `audit/${idempotencyKey}`,
            },
          });
        }
      });
    },
  };
}
