import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pgPoolConfig } from './config';
import { runMain } from './main';
import { startEmbeddedPostgres } from './infra/embedded-postgres';
import { migrationNames } from './infra/migrations';
import { findOrInstallTemporalCli } from './infra/temporal-cli';
import { pollUntil, portOpen } from './infra/ports';
import { startTemporalDevServer } from './infra/temporal-dev-server';
import { connectTemporal, waitForNamespace } from './temporal/connection';

/**
 * `npm start`: the whole product on one machine. Embedded PostgreSQL and the Temporal dev server unless
 * DATABASE_URL / TEMPORAL_ADDRESS point elsewhere; migrations; then the worker and API as child processes.
 * Ctrl-C stops everything it started; the data dir keeps rows and workflow histories for the next start.
 */
runMain('start', async ({ config, log, onShutdown }) => {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: config.dataDir };

  if (config.embeddedPostgres) {
    log.info({ dataDir: path.join(config.dataDir, 'postgres') }, 'starting embedded PostgreSQL');
    const pg = await startEmbeddedPostgres({
      dataDir: path.join(config.dataDir, 'postgres'),
      port: config.embeddedPostgresPort,
      database: 'bpo',
      persistent: true,
      onLog: (line) => log.debug({ postgres: line }),
      // Stopped last, after the worker, the API and Temporal (onShutdown runs in reverse order).
      callerHandlesSignals: true,
    });
    onShutdown(() => pg.stop());
    childEnv.DATABASE_URL = pg.databaseUrl;
  }
  const databaseUrl = childEnv.DATABASE_URL ?? config.databaseUrl;
  const pending = await pendingMigrations(databaseUrl);
  if (pending.length) {
    log.info({ pending }, 'applying database migrations');
    migrate({ ...childEnv, DATABASE_URL: databaseUrl });
  } else {
    log.info('database migrations up to date');
  }

  if (config.temporal.devServer) {
    const cliPath = await findOrInstallTemporalCli({
      explicitPath: config.temporal.cliPath,
      cacheDir: config.cacheDir,
      log,
    });
    log.info({ cliPath }, 'starting the Temporal dev server');
    const server = await startTemporalDevServer({
      cliPath,
      port: Number(config.temporal.address.split(':')[1]),
      uiPort: config.temporal.uiPort,
      namespace: config.temporal.namespace,
      dbFile: path.join(config.dataDir, 'temporal', 'temporal.db'),
      log,
    });
    onShutdown(() => server.stop());
    childEnv.TEMPORAL_ADDRESS = server.address;
  }
  const client = await connectTemporal({
    ...config.temporal,
    address: childEnv.TEMPORAL_ADDRESS ?? config.temporal.address,
  });
  await waitForNamespace(client, 60_000);
  await client.connection.close();

  // Another process answering on the API's port would pass for this one.
  if (await portOpen(config.apiPort)) {
    throw new Error(`port ${config.apiPort} is already in use (an API left running?): stop it, or choose API_PORT`);
  }
  const children = [spawnChild('src/worker.ts', childEnv), spawnChild('src/server.ts', childEnv)];
  let stoppingChildren = false;
  onShutdown(async () => {
    stoppingChildren = true;
    await Promise.all(children.map(stopChild));
  });

  // A child killed by a signal (the kernel's OOM killer, say) counts as failed: 128 + the signal's number.
  const exited = children.map(
    (child) =>
      new Promise<number>((resolve) =>
        child.once('exit', (c, signal) => resolve(c ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0))),
      ),
  );
  const apiUrl = `http://localhost:${config.apiPort}`;
  // Up once the API answers; a child that stops first (the API's port taken, say) stops everything.
  await Promise.race([
    apiAnswers(apiUrl),
    ...exited.map((code) =>
      code.then((c) => {
        // Stopped by Ctrl-C while starting: as asked.
        if (!stoppingChildren) throw new Error(`a child process exited with code ${c} while starting; stopping`);
      }),
    ),
  ]);
  if (stoppingChildren) return;
  process.stdout.write(
    [
      '',
      'BPO lifecycle orchestrator is up:',
      `  API                 ${apiUrl}   (health: ${apiUrl}/health)`,
      `  Dashboard           ${apiUrl}/`,
      `  Temporal Web UI     ${config.temporal.devServer ? config.temporal.uiUrl : `${config.temporal.uiUrl} (external cluster)`}`,
      `  Temporal frontend   ${childEnv.TEMPORAL_ADDRESS ?? config.temporal.address}  namespace ${config.temporal.namespace}`,
      `  PostgreSQL          ${redact(childEnv.DATABASE_URL ?? config.databaseUrl)}`,
      `  Data dir            ${config.dataDir}`,
      'Press Ctrl-C to stop everything.',
      '',
    ].join('\n'),
  );

  // Runs until a child dies (then everything stops, and the exit code says so) or Ctrl-C stops the children.
  const code = await Promise.race(exited);
  // Children stopped by Ctrl-C have exited as asked, whatever their code.
  if (code !== 0 && !stoppingChildren) throw new Error(`a child process exited with code ${code}; stopping`);
});

/** Resolves once the API answers HTTP at all (/health may say 503 while Temporal starts). */
function apiAnswers(apiUrl: string): Promise<void> {
  const answers = () =>
    fetch(`${apiUrl}/health`, { signal: AbortSignal.timeout(2000) }).then(
      () => true,
      () => false,
    );
  return pollUntil(answers, 120_000, `the API did not answer at ${apiUrl} within 120 s`);
}

/**
 * The migrations in prisma/migrations that the database has not finished applying, read from Prisma's own
 * `_prisma_migrations` table: a start with nothing to apply skips `prisma migrate deploy` (about ten seconds).
 * Anything unusual (no table yet, a failed or rolled-back migration) leaves the decision to `migrate deploy`.
 */
async function pendingMigrations(databaseUrl: string): Promise<string[]> {
  const local = migrationNames();
  const client = new pg.Client(pgPoolConfig(databaseUrl));
  try {
    await client.connect();
    const { rows } = await client.query<{ migration_name: string; finished: boolean; rolled_back: boolean }>(
      `SELECT migration_name, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back
       FROM _prisma_migrations`,
    );
    if (rows.some((r) => !r.finished || r.rolled_back)) return local;
    const applied = new Set(rows.map((r) => r.migration_name));
    return local.filter((m) => !applied.has(m));
  } catch {
    return local;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function migrate(env: NodeJS.ProcessEnv): void {
  const result = spawnSync(path.join('node_modules', '.bin', 'prisma'), ['migrate', 'deploy'], {
    env,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`prisma migrate deploy failed: ${(result.stderr || result.stdout).trim()}`);
}

function spawnChild(entry: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', entry], { env, stdio: 'inherit' });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
