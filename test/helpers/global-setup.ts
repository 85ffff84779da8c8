import net from 'node:net';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/infra/embedded-postgres';
import { startTemporalDevServer } from '../../src/infra/temporal-dev-server';
import { createLogger } from '../../src/logger';
import { findOrInstallTemporalCli } from '../../src/infra/temporal-cli';
import { cacheDir, makeTmpDir } from './paths';

/**
 * One real PostgreSQL and one real Temporal dev server for the whole run, on free loopback ports, thrown away at
 * the end. Each test file makes its own database on this server (test/helpers/database.ts).
 */
export default async function globalSetup(): Promise<void> {
  const runDir = makeTmpDir('run-');
  const log = createLogger('test-setup', 'error');

  const postgres = await startEmbeddedPostgres({
    dataDir: path.join(runDir, 'postgres'),
    port: await freePort(),
    database: 'postgres',
    persistent: false,
  });
  const temporal = await startTemporalDevServer({
    cliPath: await findOrInstallTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, cacheDir, log }),
    port: await freePort(),
    namespace: 'default',
    log,
  });
  process.env.TEST_POSTGRES_URL = postgres.databaseUrl;
  process.env.TEST_TEMPORAL_ADDRESS = temporal.address;
  (globalThis as Record<string, unknown>).__bpoTestServers = { postgres, temporal, runDir };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
