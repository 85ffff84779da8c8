import { assertDatabaseReachable, createPrisma } from './db';
import { runMain } from './main';
import { connectTemporal } from './temporal/connection';
import { startOrphanSweep } from './temporal/orphaned-escalations';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { createWorker, installRuntimeLogger } from './temporal/worker';

/** Worker process: runs workflows and activities for the task queue until a shutdown signal (SIGINT, SIGTERM, SIGHUP). Scale by running more. */
runMain('worker', async ({ config, log, onShutdown }) => {
  installRuntimeLogger(log);
  const prisma = createPrisma(config.databaseUrl);
  await assertDatabaseReachable(prisma, config.databaseUrl);
  const client = await connectTemporal(config.temporal);
  await ensureSearchAttributes(client, log);

  const worker = await createWorker({ temporal: config.temporal, prisma, client, log, webhook: config.webhook });
  let stopping = false;
  onShutdown(async () => {
    stopping = true;
    // The SDK's own signal handling may have begun the shutdown already.
    if (worker.getState() === 'RUNNING') worker.shutdown();
  });
  // An escalation the API stored just before it died has no workflow: every worker looks for such rows.
  const sweep = startOrphanSweep({ prisma, client, taskQueue: config.temporal.taskQueue, log });
  onShutdown(() => sweep.stop());
  log.info({ taskQueue: config.temporal.taskQueue, address: config.temporal.address }, 'worker polling');
  // Stopped while starting: nothing to run.
  if (!stopping) await worker.run();
  await client.connection.close();
  await prisma.$disconnect();
});
