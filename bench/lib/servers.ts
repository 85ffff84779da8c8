import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { startEmbeddedPostgres } from '../../src/infra/embedded-postgres';
import { findOrInstallTemporalCli } from '../../src/infra/temporal-cli';
import { startTemporalDevServer } from '../../src/infra/temporal-dev-server';
import { createLogger } from '../../src/logger';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes';
import { applyMigrations } from '../../test/helpers/database';
import { freePort } from '../../test/helpers/global-setup';
import { cacheDir, makeTmpDir, testServerPath } from '../../test/helpers/paths';
import { onCleanup } from './cleanup';

/**
 * The servers a benchmark needs, started by the benchmark itself on free loopback ports with throwaway data, and
 * stopped by its cleanup (bench/lib/cleanup.ts) however the run ends.
 */
const log = createLogger('bench', 'error');

/** Embedded PostgreSQL with a migrated database `bench`; returns its URL. */
export async function startPostgres(): Promise<string> {
  const dir = makeTmpDir('postgres-', path.join(os.tmpdir(), 'bpo-bench'));
  onCleanup('remove the PostgreSQL data dir', async () => fs.rmSync(dir, { recursive: true, force: true }));
  const server = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'data'),
    port: await freePort(),
    database: 'bench',
    persistent: false,
    // The benchmark's own SIGINT/SIGTERM handler stops everything it started, PostgreSQL included.
    callerHandlesSignals: true,
  });
  onCleanup('stop PostgreSQL', () => server.stop());
  await applyMigrations(server.databaseUrl);
  return server.databaseUrl;
}

/** The Temporal CLI dev server (in-memory, headless) with the product's search attributes; returns its address. */
export async function startDevServer(): Promise<string> {
  const server = await startTemporalDevServer({
    cliPath: await findOrInstallTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, cacheDir, log }),
    port: await freePort(),
    namespace: 'default',
    log,
  });
  onCleanup('stop the Temporal dev server', () => server.stop());
  return server.address;
}

/** A client of the dev server at `address`, closed by the benchmark's cleanup. */
export async function connectClient(address: string): Promise<Client> {
  const client = new Client({ connection: await Connection.connect({ address }) });
  onCleanup('close the Temporal client', () => client.connection.close());
  return client;
}

/** The Java time-skipping test server, from the project's cache like the workflow tests use it. */
export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  if (!fs.existsSync(testServerPath)) {
    throw new Error(`no time-skipping test server at ${testServerPath}: run \`npm run temporal:test-server\` once`);
  }
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerPath } },
  });
  onCleanup('stop the time-skipping server', () => env.teardown());
  await ensureSearchAttributes(env.client, log);
  return env;
}
