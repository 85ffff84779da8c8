import type { Client } from '@temporalio/client';
import { Router } from 'express';
import type { PrismaClient } from '../db';
import type { Logger } from '../logger';
import { sendProblem, unavailable } from './problem';

const CHECK_TIMEOUT_MS = 2000;

/** GET /health: 200 when PostgreSQL and Temporal both answer, else a 503 problem naming the one that does not. */
export function healthRouter(deps: { prisma: PrismaClient; temporal: Client; log: Logger }): Router {
  const router = Router();
  router.get('/health', async (req, res) => {
    const [postgres, temporal] = await Promise.all([
      check('postgres', deps.log, () => deps.prisma.$queryRaw`SELECT 1`),
      check('temporal', deps.log, () =>
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

/**
 * Whether a dependency answers. /health needs no key: its answer says only that a dependency did not answer or took
 * too long, and the driver's own message (which may name hosts, ports or a database user) goes to the log.
 */
async function check(
  name: string,
  log: Logger,
  probe: () => Promise<unknown>,
): Promise<{ ok: boolean; error?: string }> {
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
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    if (message.startsWith('no answer within')) return { ok: false, error: message };
    log.warn({ dependency: name, err: message }, 'health check: dependency unreachable');
    return { ok: false, error: 'unreachable (the API log says why)' };
  } finally {
    clearTimeout(timer);
  }
}
