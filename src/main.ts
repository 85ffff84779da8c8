import { ConfigError, loadConfig, type Config } from './config';
import { createLogger, type Logger } from './logger';

/**
 * The signals a process stops on, cleaning up: Ctrl-C, a supervisor's stop, and the terminal it runs in closing
 * (SIGHUP, whose default would end `npm start` at once and leave what it started running, holding its ports).
 */
export const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

interface MainContext {
  config: Config;
  log: Logger;
  /** Registers cleanup run once on a shutdown signal (`SHUTDOWN_SIGNALS`), in reverse order of registration. */
  onShutdown(fn: () => Promise<void>): void;
}

/**
 * Entry-point wrapper for every process: validates configuration first (a bad value stops the process with one line
 * naming the variable), wires graceful shutdown, and turns start-up failures into one readable line.
 */
export function runMain(name: string, main: (ctx: MainContext) => Promise<void>): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`${name}: ${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const log = createLogger(name, config.logLevel);
  const cleanups: Array<() => Promise<void>> = [];
  let stopped: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    stopped ??= (async () => {
      log.info({ reason }, 'shutting down');
      for (const fn of cleanups.reverse()) {
        await fn().catch((error: unknown) => log.error({ err: error }, 'error during shutdown'));
      }
    })();
    return stopped;
  };
  for (const signal of SHUTDOWN_SIGNALS) process.once(signal, () => void shutdown(signal));

  // A cleanup registered once the shutdown has begun (a signal during start-up) runs at once, after those before it.
  const onShutdown = (fn: () => Promise<void>) => {
    if (!stopped) cleanups.push(fn);
    else
      stopped = stopped.then(() => fn().catch((error: unknown) => log.error({ err: error }, 'error during shutdown')));
  };
  main({ config, log, onShutdown }).then(
    async () => {
      await shutdown('finished');
      process.exit(0);
    },
    async (error: unknown) => {
      process.stderr.write(`${name}: ${describeStartupError(error)}\n`);
      log.debug({ err: error }, 'fatal');
      await shutdown('failed');
      process.exit(1);
    },
  );
}

/** One line a person can act on, for the failures people actually meet at start-up. */
export function describeStartupError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) return `cannot connect: ${message.split('\n')[0]}`;
  return message.split('\n')[0];
}
