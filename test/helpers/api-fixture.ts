import { Client, Connection } from '@temporalio/client';
import type { PrismaClient } from '../../src/db';
import { startTestApi, type TestApi } from './app';
import { createTestDatabase, type TestDatabase } from './database';

/**
 * API tests against a real PostgreSQL (a database of their own). Temporal is a lazy client to a closed port:
 * these routes do not touch it, and a route that did would fail loudly.
 */
export async function startApiFixture(
  options: { readCacheMs?: number } = {},
): Promise<{ db: TestDatabase; api: TestApi; close(): Promise<void> }> {
  const db = await createTestDatabase({ api: true });
  const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 200 }) });
  const api = await startTestApi({
    prisma: db.prisma,
    temporal,
    taskQueue: 'api-tests',
    databaseUrl: db.url,
    ...options,
  });
  return {
    db,
    api,
    close: async () => {
      await api.close();
      await db.drop();
    },
  };
}

/** Row counts of every table a request could write, to prove a refused request wrote nothing. */
export async function rowCounts(prisma: PrismaClient): Promise<Record<string, number>> {
  const tables = await prisma.$queryRaw<Array<{ table: string }>>`
    SELECT relname AS table FROM pg_stat_user_tables WHERE relname <> '_prisma_migrations' ORDER BY relname`;
  // One round trip for all tables: property tests take these counts around every request.
  const rows = await prisma.$queryRawUnsafe<Array<{ table: string; count: bigint }>>(
    tables.map(({ table }) => `SELECT '${table}' AS table, count(*) AS count FROM "${table}"`).join(' UNION ALL '),
  );
  return Object.fromEntries(rows.map(({ table, count }) => [table, Number(count)]));
}
