import type { Client } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogLevel,
  type WorkerOptions,
} from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { Config } from '../config';
import type { PrismaClient } from '../db';
import type { Logger } from '../logger';
import { LogNotifier, WebhookNotifier, type Notifier } from '../notify/notifier';

type TemporalSettings = Pick<Config['temporal'], 'address' | 'namespace' | 'taskQueue' | 'tls' | 'apiKey'>;

/** A worker for the product's task queue; shared by the worker process and the tests. */
export async function createWorker(opts: {
  temporal: TemporalSettings;
  prisma: PrismaClient;
  /** Used by activities that start workflows (escalations). */
  client: Client;
  log: Logger;
  webhook?: Config['webhook'];
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
  const notifiers: Notifier[] = [new LogNotifier(opts.log)];
  if (opts.webhook) notifiers.push(new WebhookNotifier(opts.webhook.url, opts.webhook.secret));
  return Worker.create({
    connection,
    namespace: opts.temporal.namespace,
    taskQueue: opts.temporal.taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: createActivities({
      prisma: opts.prisma,
      client: opts.client,
      taskQueue: opts.temporal.taskQueue,
      notifiers,
    }),
    ...opts.overrides,
  });
}

const pinoLevel: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Routes the SDK's own logs (worker state, workflow and activity logs) into our JSON log, warnings and up by default. */
export function installRuntimeLogger(log: Logger): void {
  const level: LogLevel = log.isLevelEnabled('debug') ? 'DEBUG' : log.isLevelEnabled('info') ? 'WARN' : 'ERROR';
  Runtime.install({
    // An error goes under `err`, where pino writes its message and stack: under `sdk` it would print as {}.
    logger: new DefaultLogger(level, (entry) => {
      const { error, ...meta } = entry.meta ?? {};
      log[pinoLevel[entry.level]]({ sdk: meta, ...(error !== undefined && { err: error }) }, entry.message);
    }),
  });
}
