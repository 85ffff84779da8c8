import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { Config } from '../config';
import type { PrismaClient } from '../db';

/** A worker for the product's task queue; shared by the worker process and the tests. */
export async function createWorker(opts: {
  temporal: Config['temporal'];
  prisma: PrismaClient;
  connection?: NativeConnection;
  overrides?: Partial<WorkerOptions>;
}): Promise<Worker> {
  const connection =
    opts.connection ??
    (await NativeConnection.connect({
      address: opts.temporal.address,
      tls: opts.temporal.tls || undefined,
      apiKey: opts.temporal.apiKey,
    }));
  return Worker.create({
    connection,
    namespace: opts.temporal.namespace,
    taskQueue: opts.temporal.taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: createActivities(opts.prisma),
    ...opts.overrides,
  });
}
