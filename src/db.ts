import { PrismaPg } from '@prisma/adapter-pg';
import { pgPoolConfig } from './config';
import { PrismaClient } from './generated/prisma/client';

/** The Rust-free Prisma client on a pg pool. */
export function createPrisma(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg(pgPoolConfig(databaseUrl)) });
}

export type { PrismaClient };
