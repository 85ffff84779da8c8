/**
 * `npm run create-admin-key -- [name]`: issues the first admin API key and prints it once. Needs the database
 * (the embedded one while `npm start` runs, or DATABASE_URL).
 */
import { issueApiKey } from '../src/auth/api-keys';
import { audit } from '../src/audit';
import { loadConfig } from '../src/config';
import { assertDatabaseReachable, createPrisma } from '../src/db';

async function main(): Promise<void> {
  const name = process.argv[2] ?? 'admin';
  const config = loadConfig();
  const prisma = createPrisma(config.databaseUrl);
  await assertDatabaseReachable(prisma, config.databaseUrl);
  const issued = await prisma.$transaction(async (tx) => {
    const key = await issueApiKey(tx, { name, role: 'ADMIN' });
    await audit(tx, {
      actor: 'cli',
      action: 'api-key.issue',
      entityType: 'ApiKey',
      entityId: key.id,
      after: { name, role: 'ADMIN' },
    });
    return key;
  });
  process.stdout.write(`${issued.key}\n`);
  process.stderr.write(`admin key "${name}" created (id ${issued.id}); it is shown only once.\n`);
  await prisma.$disconnect();
}

main().catch((error: unknown) => {
  process.stderr.write(`create-admin-key: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`);
  process.exit(1);
});
