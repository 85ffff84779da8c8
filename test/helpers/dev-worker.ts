import { createLogger } from '../../src/logger';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createWorker } from '../../src/temporal/worker';
import { startTestApi, type TestApi } from './app';
import { createTestDatabase, type TestDatabase } from './database';
import { connectDevServer, workflowBundle } from './temporal';

/** The run's dev server, a database of the file's own, an in-process worker with real activities, and the API. */
export interface DevStack {
  env: TestWorkflowEnvironment;
  db: TestDatabase;
  api: TestApi;
  taskQueue: string;
  close(): Promise<void>;
}

export async function startDevStack(taskQueue: string): Promise<DevStack> {
  const db = await createTestDatabase();
  const env = await connectDevServer();
  const worker: Worker = await createWorker({
    temporal: {
      address: process.env.TEST_TEMPORAL_ADDRESS!,
      namespace: 'default',
      taskQueue,
      tls: false,
    },
    prisma: db.prisma,
    client: env.client,
    log: createLogger('worker', 'silent'),
    connection: env.nativeConnection,
    overrides: { workflowBundle: await workflowBundle(), workflowsPath: undefined },
  });
  const running = worker.run();
  const api = await startTestApi({
    prisma: db.prisma,
    databaseUrl: db.url,
    temporal: env.client,
    taskQueue,
    watchWorkflows: true,
  });
  return {
    env,
    db,
    api,
    taskQueue,
    close: async () => {
      await api.close();
      worker.shutdown();
      await running;
      await env.teardown();
      await db.drop();
    },
  };
}
