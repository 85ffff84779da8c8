import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { API_TRANSACTIONS, createPrisma, type PrismaClient } from '../../src/db';
import { MIGRATIONS_DIR, migrationNames } from '../../src/infra/migrations';

/**
 * A fresh database per test file, built from the committed migrations (the same SQL `prisma migrate deploy` runs),
 * dropped afterwards.
 */
export interface TestDatabase {
  url: string;
  prisma: PrismaClient;
  drop(): Promise<void>;
}

export async function createTestDatabase(
  opts: { empty?: boolean; /** The API's transaction limits, for a database only the API uses. */ api?: boolean } = {},
): Promise<TestDatabase> {
  const serverUrl = process.env.TEST_POSTGRES_URL;
  if (!serverUrl) throw new Error('TEST_POSTGRES_URL is not set: run the tests through jest (global setup)');
  const name = `test_${randomUUID().replace(/-/g, '')}`;
  const url = withDatabase(serverUrl, name);
  await admin(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  if (!opts.empty) await applyMigrations(url);
  const prisma = createPrisma(url, opts.api ? { transactions: API_TRANSACTIONS } : {});
  return {
    url,
    prisma,
    drop: async () => {
      await prisma.$disconnect();
      await admin(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

export async function applyMigrations(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const migration of migrationNames())
      await client.query(fs.readFileSync(path.join(MIGRATIONS_DIR, migration, 'migration.sql'), 'utf8'));
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin(url: string, fn: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

/** How many sessions of the connection's database are waiting for a lock (a row another transaction holds). */
export async function lockWaiters(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
  return rows[0].n;
}
