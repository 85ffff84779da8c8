/**
 * A benchmark's worker process (spawned by bench/lib/worker-process.ts, not run by hand): the product's worker
 * (createWorker, real activities, product defaults) on BENCH_TASK_QUEUE, optionally a worker for the bench-only
 * workflows on BENCH_NOOP_TASK_QUEUE, and the SDK's Prometheus metrics on BENCH_METRICS_PORT. Its own process, as
 * in production, so its resident memory is its own; it reports samples to the parent over IPC. A candidate
 * configuration comes as BENCH_WORKER_OVERRIDES (worker options, JSON) and BENCH_PG_POOL_MAX (the pg pool size).
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createPrisma } from '../src/db';
import { createLogger } from '../src/logger';
import { createWorker } from '../src/temporal/worker';
import { benchWorkflowBundle } from './lib/bundle';
import type { FromWorker, ToWorker } from './lib/worker-process';

async function main(): Promise<void> {
  const env = process.env;
  const address = env.BENCH_TEMPORAL_ADDRESS!;
  const metricsPort = env.BENCH_METRICS_PORT;
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    ...(metricsPort && {
      telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } },
    }),
  });
  const databaseUrl = env.BENCH_DATABASE_URL!;
  const prisma = createPrisma(databaseUrl, env.BENCH_PG_POOL_MAX ? { max: Number(env.BENCH_PG_POOL_MAX) } : {});
  const overrides = env.BENCH_WORKER_OVERRIDES ? (JSON.parse(env.BENCH_WORKER_OVERRIDES) as object) : {};
  const client = new Client({ connection: await Connection.connect({ address }) });
  const connection = await NativeConnection.connect({ address });
  const temporal = { address, namespace: 'default', taskQueue: env.BENCH_TASK_QUEUE!, tls: false };
  const workers: Worker[] = [
    await createWorker({
      temporal,
      prisma,
      client,
      connection,
      log: createLogger('bench-worker', 'silent'),
      overrides,
    }),
  ];
  if (env.BENCH_NOOP_TASK_QUEUE) {
    workers.push(
      await Worker.create({
        connection,
        taskQueue: env.BENCH_NOOP_TASK_QUEUE,
        workflowBundle: await benchWorkflowBundle(),
        activities: { nothing: async () => undefined },
      }),
    );
  }
  const send = (message: FromWorker) => {
    if (process.connected) process.send!(message);
  };
  const readyRss = process.memoryUsage().rss;
  const running = Promise.all(workers.map((w) => w.run()));
  const sampler = setInterval(
    () => send({ kind: 'sample', at: Date.now(), rss: process.memoryUsage().rss }),
    Number(env.BENCH_SAMPLE_MS ?? 250),
  );
  process.on('message', (message: ToWorker) => {
    if (message.kind === 'stop') for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  });
  // The parent going away (even killed) must not leave this process behind.
  process.on('disconnect', () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  });
  send({ kind: 'ready', pid: process.pid, rss: readyRss });
  await running;
  clearInterval(sampler);
  await connection.close();
  await client.connection.close();
  await prisma.$disconnect();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error('bench worker failed:', error);
    process.exit(1);
  },
);
