import 'dotenv/config';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import type { PrismaConfig } from 'prisma';
import { loadConfig, pgPoolConfig } from './src/config';

// The CLI reads `env("DATABASE_URL")` from the schema even with an adapter; without it `generate` reaches for the
// native query engine, which cannot be downloaded offline. Default it to the embedded server before anything else.
const config = loadConfig();
process.env.DATABASE_URL = config.databaseUrl;

export default {
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join('prisma', 'schema.prisma'),
  // A pool config, not a connection string: the adapter derives its shadow database by overriding `database`.
  adapter: async () => new PrismaPg(pgPoolConfig(config.databaseUrl)),
} satisfies PrismaConfig;
