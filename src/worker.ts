import { assertDatabaseReachable, createPrisma } from './db';
import { runMain } from './main';
import { connectTemporal } from './temporal/connection';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { createWorker, installRuntimeLogger } from './temporal/worker';

/** Worker process: runs workflows and activities for the task queue until SIGINT/SIGTERM. Scale by running more. */
runMain('worker', async ({ config, log, onShutdown }) => {
  installRuntimeLogger(log);
  const prisma = createPrisma(config.databaseUrl);
  await assertDatabaseReachable(prisma, config.databaseUrl);
  const client = await connectTemporal(config.temporal);
  await ensureSearchAttributes(client, log);

  const worker = await createWorker({ temporal: config.temporal, prisma, client, log, webhook: config.webhook });
  onShutdown(async () => {
    worker.shutdown();
  });
  log.info({ taskQueue: config.temporal.taskQueue, address: config.temporal.address }, 'worker polling');
  await worker.run();
  await client.connection.close();
  await prisma.$disconnect();
});
