import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/infra/embedded-postgres';
import { findOrInstallTemporalCli } from '../../src/infra/temporal-cli';
import { startTemporalDevServer, type DevServerHandle } from '../../src/infra/temporal-dev-server';
import { createLogger } from '../../src/logger';
import { applyMigrations } from './database';
import { freePort } from './global-setup';
import { cacheDir, makeTmpDir } from './paths';

/**
 * Servers a fault test owns, unlike the run's shared ones: it may kill or stop them and start them again on the same
 * port and the same data, as an outage would. `close` removes them, whatever state they were left in.
 */
export interface OwnTemporal {
  address: string;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port and database file. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface OwnPostgres {
  /** A migrated database `bpo` on this server. */
  databaseUrl: string;
  /** A fast shutdown (SIGINT): sessions are ended, the data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** SIGSTOP to the server and all its processes: up, connections open, but answering nothing. */
  freeze(): void;
  /** SIGCONT: it answers again, where it was. */
  thaw(): void;
  close(): Promise<void>;
}

/** The postmaster (first line of postmaster.pid) and its children. */
function postgresPids(dataDir: string): number[] {
  const postmaster = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

const log = createLogger('fault-servers', 'error');

export async function startOwnTemporal(
  dynamicConfig?: Record<string, string | number | boolean>,
): Promise<OwnTemporal> {
  const dir = makeTmpDir('temporal-');
  const cliPath = await findOrInstallTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, cacheDir, log });
  const port = await freePort();
  const options = { cliPath, port, namespace: 'default', dbFile: path.join(dir, 'temporal.db'), dynamicConfig, log };
  let server: DevServerHandle | undefined = await startTemporalDevServer(options);
  return {
    address: server.address,
    kill: async () => {
      await server?.kill();
      server = undefined;
    },
    restart: async () => {
      server = await startTemporalDevServer(options);
    },
    close: async () => {
      await server?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = makeTmpDir('postgres-');
  const options = { dataDir: path.join(dir, 'data'), port: await freePort(), database: 'bpo', persistent: true };
  let server: EmbeddedPostgresHandle | undefined = await startEmbeddedPostgres(options);
  await applyMigrations(server.databaseUrl);
  return {
    databaseUrl: server.databaseUrl,
    stop: async () => {
      await server?.stop();
      server = undefined;
    },
    restart: async () => {
      server = await startEmbeddedPostgres(options);
    },
    freeze: () => postgresPids(options.dataDir).forEach((pid) => process.kill(pid, 'SIGSTOP')),
    thaw: () => postgresPids(options.dataDir).forEach((pid) => process.kill(pid, 'SIGCONT')),
    close: async () => {
      await server?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
