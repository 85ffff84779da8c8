import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startTestApi } from './app';
import { createTestDatabase } from './database';

/** The real worker entry point as a separate OS process, so a test can SIGKILL it like a crash would. */
export interface WorkerProcess {
  child: ChildProcess;
  ready: Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Every worker process still alive, so a failed test cannot leave one behind to keep jest from exiting. */
const alive = new Set<ChildProcess>();

export async function killAllWorkerProcesses(): Promise<void> {
  await Promise.all(
    [...alive].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

export function spawnWorkerProcess(env: {
  databaseUrl: string;
  taskQueue: string;
  /** A Temporal frontend of the test's own; the run's shared dev server by default. */
  temporalAddress?: string;
}): WorkerProcess {
  const root = path.join(__dirname, '..', '..');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: root,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      DATABASE_URL: env.databaseUrl,
      TEMPORAL_ADDRESS: env.temporalAddress ?? process.env.TEST_TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: env.taskQueue,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  alive.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      alive.delete(child);
      resolve();
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker polling')) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before polling:\n${output}`)));
  });
  return {
    child,
    ready,
    kill: async (signal) => {
      child.kill(signal);
      await exited;
    },
  };
}

/**
 * A database, a client of the run's dev server and the API, with no worker in this process: crash tests run their
 * workers as OS processes (spawnWorkerProcess) on `taskQueue`.
 */
export async function startStackForWorkerProcesses(taskQueue: string, options: { updateTimeoutMs?: number } = {}) {
  const db = await createTestDatabase();
  const client = new Client({ connection: await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! }) });
  const api = await startTestApi({ prisma: db.prisma, databaseUrl: db.url, temporal: client, taskQueue, ...options });
  return {
    db,
    client,
    api,
    close: async () => {
      await killAllWorkerProcesses();
      await api.close();
      await client.connection.close();
      await db.drop();
    },
  };
}

export type StackForWorkerProcesses = Awaited<ReturnType<typeof startStackForWorkerProcesses>>;
