import type { PrismaClient } from '../src/db';
import type { Severity } from '../src/domain/types';

/** Escalation facts. Raising is idempotent on a key the caller derives from its business event. */
export function createEscalationActivities(prisma: PrismaClient) {
  return {
    async raiseEscalation(input: {
      engagementId: string;
      severity: Severity;
      category: string;
      title: string;
      description: string;
      raisedBy: string;
      raisedAt: string;
      key: string;
    }): Promise<{ escalationId: string }> {
      const idempotencyKey = `${input.engagementId}/${input.key}`;
      return prisma.$transaction(async (tx) => {
        const existing = await tx.escalation.findUnique({ where: { idempotencyKey } });
        if (existing) return { escalationId: existing.id };
        const escalation = await tx.escalation.create({
          data: {
            engagementId: input.engagementId,
            severity: input.severity,
            category: input.category,
            title: input.title,
            description: input.description,
            raisedBy: input.raisedBy,
            raisedAt: new Date(input.raisedAt),
            idempotencyKey,
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
        return { escalationId: escalation.id };
      });
    },
  };
}
