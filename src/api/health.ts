import type { Client } from '@temporalio/client';
import { Router } from 'express';
import type { PrismaClient } from '../db';
import { sendProblem, unavailable } from './problem';

const CHECK_TIMEOUT_MS = 2000;

/** GET /health: 200 when PostgreSQL and Temporal both answer, else a 503 problem naming the one that does not. */
export function healthRouter(deps: { prisma: PrismaClient; temporal: Client }): Router {
  const router = Router();
  router.get('/health', async (req, res) => {
    const [postgres, temporal] = await Promise.all([
      check(() => deps.prisma.$queryRaw`SELECT 1`),
      check(() =>
        deps.temporal.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
          deps.temporal.workflowService.getSystemInfo({}),
        ),
      ),
    ]);
    const down = [postgres.ok ? null : 'postgres', temporal.ok ? null : 'temporal'].filter(Boolean);
    const dependencies = { postgres, temporal };
    if (!down.length) {
      res.status(200).json({ status: 'ok', dependencies });
      return;
    }
    // A problem like every other refusal, so a load balancer or a client reads the reason the same way.
    sendProblem(req, res, unavailable(`${down.join(' and ')} unreachable`), { dependencies });
  });
  return router;
}

async function check(probe: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error instanceof Error ? error.message : String(error)).split('\n')[0] };
  } finally {
    clearTimeout(timer);
  }
}
