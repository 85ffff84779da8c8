import { adapterOn, createPool, withPool } from '../../src/db';
import { PrismaClient } from '../../src/generated/prisma/client';

/**
 * The product's Prisma client (as src/db.ts makes it) that also counts the SQL statements it sends and their
 * database time, so a benchmark can say how many statements one request costs: those Prisma sends, and those the
 * start path sends on its pg pool directly (`poolOf`).
 */
export function countedPrisma(databaseUrl: string) {
  const pool = createPool(databaseUrl);
  const prisma = withPool(
    new PrismaClient({ adapter: adapterOn(pool), log: [{ level: 'query', emit: 'event' }] }),
    pool,
  );
  const sql = { statements: 0, ms: 0 };
  prisma.$on('query', (event) => {
    sql.statements++;
    sql.ms += event.duration;
  });
  // Prisma's adapter queries on clients it checks out; `pool.query` is the direct path's alone.
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  pool.query = ((...args: unknown[]) => {
    const sent = performance.now();
    sql.statements++;
    return query(...args).finally(() => {
      sql.ms += performance.now() - sent;
    });
  }) as typeof pool.query;
  return { prisma, sql };
}
