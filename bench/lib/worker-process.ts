import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';
import { onCleanup, profileArgs } from './cleanup';

/** Messages between a benchmark and its worker process (bench/worker.ts). */
export type ToWorker = { kind: 'stop' };
export type FromWorker = { kind: 'ready'; pid: number; rss: number } | { kind: 'sample'; at: number; rss: number };

export interface WorkerProcess {
  pid: number;
  /** Resident memory once the workers are created (workflow bundle loaded), before they poll. */
  readyRss: number;
  /** Resident memory samples, every BENCH_SAMPLE_MS (250 ms) since the worker started. */
  samples: Array<{ at: number; rss: number }>;
  stop(): Promise<void>;
}

export async function startWorkerProcess(opts: {
  databaseUrl: string;
  temporalAddress: string;
  taskQueue: string;
  noopTaskQueue?: string;
  metricsPort?: number;
  /** Experiments only: worker options over the product's defaults, and the pg pool size of the worker's Prisma. */
  workerOverrides?: Partial<Record<keyof WorkerOptions, unknown>>;
  poolMax?: number;
}): Promise<WorkerProcess> {
  const child: ChildProcess = fork(path.join(__dirname, '..', 'worker.ts'), [], {
    execArgv: ['--import', 'tsx', ...profileArgs()],
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      BENCH_DATABASE_URL: opts.databaseUrl,
      BENCH_TEMPORAL_ADDRESS: opts.temporalAddress,
      BENCH_TASK_QUEUE: opts.taskQueue,
      BENCH_NOOP_TASK_QUEUE: opts.noopTaskQueue ?? '',
      BENCH_METRICS_PORT: opts.metricsPort ? String(opts.metricsPort) : '',
      BENCH_WORKER_OVERRIDES: opts.workerOverrides ? JSON.stringify(opts.workerOverrides) : '',
      BENCH_PG_POOL_MAX: opts.poolMax ? String(opts.poolMax) : '',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ kind: 'stop' } satisfies ToWorker);
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
  };
  onCleanup('stop the worker process', stop);
  const samples: WorkerProcess['samples'] = [];
  const ready = await new Promise<{ pid: number; rss: number }>((resolve, reject) => {
    child.on('message', (message: FromWorker) => {
      if (message.kind === 'ready') resolve(message);
      else samples.push({ at: message.at, rss: message.rss });
    });
    void exited.then(() => reject(new Error(`the worker process exited (${child.exitCode}) before it was ready`)));
  });
  return { pid: ready.pid, readyRss: ready.rss, samples, stop };
}
