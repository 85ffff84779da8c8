/**
 * `npm run seed [-- --engagements N]`: loads the demo portfolio (default 30 engagements across 6 vendors).
 * Idempotent. Needs the database (the embedded one while `npm start` runs, or DATABASE_URL).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { assertDatabaseReachable, createPrisma } from '../src/db';
import { loadDemoPortfolio } from '../src/seed/load';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { engagements: { type: 'string', default: '30' } } });
  const engagements = Number(values.engagements);
  if (!Number.isInteger(engagements) || engagements < 1 || engagements > 10_000) {
    throw new Error('--engagements must be a whole number from 1 to 10000');
  }
  const config = loadConfig();
  // Thousands of engagements are written in large statements: more time than a request's.
  const prisma = createPrisma(config.databaseUrl, { queryTimeoutMs: 300_000 });
  await assertDatabaseReachable(prisma, config.databaseUrl);
  const result = await loadDemoPortfolio(prisma, { engagements });
  console.log(
    `seeded ${result.vendors} vendors, ${result.engagements} new engagements, ${result.measurements} KPI measurements; ` +
      `${result.reviews} monthly reviews of its engagements present (each stored once, whatever the runs)`,
  );
  await prisma.$disconnect();
}

main().catch((error: unknown) => {
  console.error(`seed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  process.exit(1);
});
