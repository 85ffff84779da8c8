import { PrismaPg } from '@prisma/adapter-pg';
import { pgPoolConfig } from '../../src/config';
import { PrismaClient } from '../../src/generated/prisma/client';

/**
 * The product's Prisma client (as src/db.ts makes it) that also counts the SQL statements it sends and their
 * database time, so a benchmark can say how many statements one request costs.
 */
export function countedPrisma(databaseUrl: string) {
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pgPoolConfig(databaseUrl)),
    log: [{ level: 'query', emit: 'event' }],
  });
  const sql = { statements: 0, ms: 0 };
  prisma.$on('query', (event) => {
    sql.statements++;
    sql.ms += event.duration;
  });
  return { prisma, sql };
}
