import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { pollUntil, portOpen } from './ports';
import path from 'node:path';
import { searchAttributeKeys } from '../../workflows/search-attributes';
import type { Logger } from '../logger';

/** The Temporal CLI dev server with its Web UI, persisting to a SQLite file so workflows survive restarts. */
export interface DevServerHandle {
  address: string;
  uiUrl?: string;
  stop(): Promise<void>;
  /** Ends the server at once (SIGKILL), as a crash would: what it had committed to its database file stays. */
  kill(): Promise<void>;
}

export function searchAttributeFlags(): string[] {
  return searchAttributeKeys.flatMap((key) => ['--search-attribute', `${key.name}=${cliType(key.type)}`]);
}

function cliType(type: string): string {
  return (
    { KEYWORD: 'Keyword', INT: 'Int', TEXT: 'Text', DATETIME: 'Datetime', BOOL: 'Bool', DOUBLE: 'Double' }[type] ?? type
  );
}

export async function startTemporalDevServer(opts: {
  cliPath: string;
  port: number;
  uiPort?: number;
  namespace: string;
  dbFile?: string;
  /** Server settings (`--dynamic-config-value`), e.g. a lower history length at which continue-as-new is suggested. */
  dynamicConfig?: Record<string, string | number | boolean>;
  log: Logger;
}): Promise<DevServerHandle> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--namespace', opts.namespace];
  args.push('--log-level', 'warn', '--log-format', 'json');
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  args.push(...(opts.uiPort ? ['--ui-port', String(opts.uiPort)] : ['--headless']));
  args.push(...searchAttributeFlags());
  for (const [key, value] of Object.entries(opts.dynamicConfig ?? {}))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);

  // Something already listening there would pass for the new server: say so instead of starting against it.
  if (await portOpen(opts.port)) {
    throw new Error(
      `port ${opts.port} is already in use (another Temporal server, or a dev server left running?): stop it, or ` +
        'choose TEMPORAL_DEV_PORT',
    );
  }
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => opts.log.debug({ temporal: chunk.toString().trim() }));
  child.stderr?.on('data', (chunk: Buffer) => opts.log.warn({ temporal: chunk.toString().trim() }));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  const address = `127.0.0.1:${opts.port}`;
  await Promise.race([
    waitForPort(opts.port, 60_000),
    exited.then((code) => {
      throw new Error(`Temporal dev server exited with code ${code} before listening on ${address}`);
    }),
  ]);
  return {
    address,
    uiUrl: opts.uiPort ? `http://localhost:${opts.uiPort}` : undefined,
    stop: () => stopChild(child, exited),
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export function waitForPort(port: number, timeoutMs: number): Promise<void> {
  return pollUntil(() => portOpen(port), timeoutMs, `nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
}
