import type { Server } from 'node:http';
import { createApp } from './api/app';
import { EngagementChanges } from './api/engagement-changes';
import { WorkflowWatches } from './api/workflow-watches';
import { API_TRANSACTIONS, assertDatabaseReachable, createPrisma } from './db';
import { runMain } from './main';
import { connectTemporal } from './temporal/connection';

/** API process: the Express app on API_PORT until a shutdown signal (SIGINT, SIGTERM, SIGHUP), then drains connections. */
runMain('api', async ({ config, log, onShutdown }) => {
  const prisma = createPrisma(config.databaseUrl, { transactions: API_TRANSACTIONS });
  await assertDatabaseReachable(prisma, config.databaseUrl);
  // Lazy: the API comes up (and /health says why) even while Temporal is still starting or down.
  const temporal = await connectTemporal(config.temporal, { lazy: true });
  const changes = new EngagementChanges(config.databaseUrl, log);
  await changes.open();
  const watching = await connectTemporal(config.temporal, { lazy: true, retries: false });
  const watches = new WorkflowWatches(watching, config.workflowWatches);
  const app = createApp({ prisma, temporal, config, log, changes, watches });

  // Express 5 calls back with the listen error too (a port already taken): the process stops with it.
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.apiPort, (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  log.info({ url: `http://localhost:${config.apiPort}` }, 'API listening');
  await new Promise<void>((resolve) => {
    onShutdown(async () => {
      await new Promise((done) => server.close(done));
      watches.close();
      await changes.close();
      await prisma.$disconnect();
      await temporal.connection.close();
      await watching.connection.close();
      resolve();
    });
  });
});
