import { fork } from 'node:child_process';
import path from 'node:path';
import { onCleanup, profileArgs } from './cleanup';

export type ToApi = { kind: 'stop' } | { kind: 'sql' };
export type FromApi =
  { kind: 'ready'; pid: number; apiUrl: string; bareUrl: string } | { kind: 'sql'; statements: number; ms: number };

export interface ApiProcess {
  pid: number;
  apiUrl: string;
  bareUrl: string;
  /** SQL statements the API has sent so far, and their database time. */
  sql(): Promise<{ statements: number; ms: number }>;
}

/** The API and a bare Express route in one process of their own (bench/api-server.ts). */
export async function startApiProcess(opts: {
  databaseUrl: string;
  temporalAddress: string;
  taskQueue: string;
}): Promise<ApiProcess> {
  const child = fork(path.join(__dirname, '..', 'api-server.ts'), [], {
    execArgv: ['--import', 'tsx', ...profileArgs()],
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      LOG_LEVEL: 'silent',
      BENCH_DATABASE_URL: opts.databaseUrl,
      BENCH_TEMPORAL_ADDRESS: opts.temporalAddress,
      BENCH_TASK_QUEUE: opts.taskQueue,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  onCleanup('stop the API process', async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ kind: 'stop' } satisfies ToApi);
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  });
  const ready = await new Promise<Extract<FromApi, { kind: 'ready' }>>((resolve, reject) => {
    child.once('message', (message: Extract<FromApi, { kind: 'ready' }>) => resolve(message));
    void exited.then(() => reject(new Error(`the API process exited (${child.exitCode}) before it was ready`)));
  });
  return {
    pid: ready.pid,
    apiUrl: ready.apiUrl,
    bareUrl: ready.bareUrl,
    sql: () =>
      new Promise((resolve) => {
        child.once('message', (message: Extract<FromApi, { kind: 'sql' }>) => resolve(message));
        child.send({ kind: 'sql' } satisfies ToApi);
      }),
  };
}
