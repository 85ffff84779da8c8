import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { openEscalation } from '../../activities/escalations';
import type { PrismaClient } from '../db';
import { escalationWorkflowId } from '../domain/escalation';
import type { Severity } from '../domain/types';
import type { Logger } from '../logger';

/**
 * Long enough that a raise still in flight has finished: the API gives up on an unreachable Temporal within seconds
 * and then takes its row back, so a younger escalation without a workflow may be one being raised or undone. (A raise
 * whose start timed out keeps its row, which this sweep then starts if the start did not happen.)
 */
export const ORPHAN_AGE_MS = 2 * 60_000;
export const ORPHAN_SWEEP_EVERY_MS = 60_000;

export interface OrphanSweepDeps {
  prisma: PrismaClient;
  client: Client;
  taskQueue: string;
}

/**
 * Starts the workflow of every open escalation that has none: the API stores an escalation and then starts its
 * workflow, and a process killed between the two leaves a row that would never climb. The start goes through the
 * raise itself under the stored key, so it finds the row and starts the workflow as the raise would have
 * (idempotent on the row and on the workflow id). Escalations on closed engagements are left alone: their matrix
 * no longer answers. `confirmed` remembers the ones seen with a workflow, so each is described once.
 */
export async function startOrphanedEscalations(
  deps: OrphanSweepDeps,
  confirmed: Set<string>,
  now = new Date(),
): Promise<string[]> {
  const open = await deps.prisma.escalation.findMany({
    where: {
      status: { not: 'RESOLVED' },
      raisedAt: { lt: new Date(now.getTime() - ORPHAN_AGE_MS) },
      idempotencyKey: { not: null },
      engagement: { stage: { not: 'CLOSED' } },
    },
    select: {
      id: true,
      engagementId: true,
      severity: true,
      category: true,
      title: true,
      description: true,
      raisedBy: true,
      raisedAt: true,
      idempotencyKey: true,
    },
    orderBy: { raisedAt: 'asc' },
  });
  const stillOpen = new Set(open.map((e) => e.id));
  for (const id of confirmed) if (!stillOpen.has(id)) confirmed.delete(id);

  const started: string[] = [];
  for (const e of open.filter((e) => !confirmed.has(e.id))) {
    try {
      await deps.client.workflow.getHandle(escalationWorkflowId(e.id)).describe();
      confirmed.add(e.id);
      continue;
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    await openEscalation(deps.prisma, deps.client, deps.taskQueue, {
      engagementId: e.engagementId,
      severity: e.severity as Severity,
      category: e.category,
      title: e.title,
      description: e.description,
      raisedBy: e.raisedBy,
      raisedAt: e.raisedAt.toISOString(),
      key: e.idempotencyKey!.slice(`${e.engagementId}/`.length),
    });
    confirmed.add(e.id);
    started.push(e.id);
  }
  return started;
}

/** Sweeps at once and then every minute until stopped; a failed sweep is logged and tried again next time. */
export function startOrphanSweep(deps: OrphanSweepDeps & { log: Logger }): { stop(): Promise<void> } {
  const stopping = new AbortController();
  const confirmed = new Set<string>();
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        const started = await startOrphanedEscalations(deps, confirmed);
        if (started.length)
          deps.log.warn({ escalationIds: started }, 'started the workflows of escalations stored without one');
      } catch (error) {
        deps.log.warn({ err: error }, 'orphaned-escalation sweep failed; trying again later');
      }
      await sleep(ORPHAN_SWEEP_EVERY_MS, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  })();
  return {
    stop: async () => {
      stopping.abort();
      await loop;
    },
  };
}
