import { PrismaPg } from '@prisma/adapter-pg';
import { pgPoolConfig } from './config';
import { PrismaClient } from './generated/prisma/client';

/** The Rust-free Prisma client on a pg pool. */
export function createPrisma(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg(pgPoolConfig(databaseUrl)) });
}

export type { PrismaClient };

/** Fails fast with a line a person can act on when the database cannot be reached at start-up. */
export async function assertDatabaseReachable(prisma: PrismaClient, databaseUrl: string): Promise<void> {
  try {
    await prisma.$queryRaw`SELECT 1`;
  } catch (error) {
    const { host, port, database } = pgPoolConfig(databaseUrl);
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new Error(`cannot reach PostgreSQL at ${host}:${port}/${database} (check DATABASE_URL): ${reason}`);
  }
}
