import { execFileSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

/** The committed migrations must build exactly the schema in prisma/schema.prisma: no drift. */
describe('migrations', () => {
  let fromMigrations: TestDatabase;
  let fromSchema: TestDatabase;
  beforeAll(async () => {
    fromMigrations = await createTestDatabase();
    fromSchema = await createTestDatabase({ empty: true });
  });
  afterAll(async () => {
    await fromMigrations?.drop();
    await fromSchema?.drop();
  });

  it('build the same tables, columns, types and indexes as the schema', async () => {
    const root = path.join(__dirname, '..', '..');
    const script = execFileSync(
      path.join(root, 'node_modules', '.bin', 'prisma'),
      ['migrate', 'diff', '--from-empty', '--to-schema-datamodel', 'prisma/schema.prisma', '--script'],
      { cwd: root, encoding: 'utf8', env: { ...process.env, DATABASE_URL: fromSchema.url } },
    );
    const client = new pg.Client({ connectionString: fromSchema.url });
    await client.connect();
    await client.query(script);
    await client.end();
    expect(await describeSchema(fromMigrations.url)).toEqual(await describeSchema(fromSchema.url));
  });
});

async function describeSchema(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const columns = await client.query(
      `SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
        ORDER BY table_name, column_name`,
    );
    const indexes = await client.query(
      `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'
        ORDER BY tablename, indexname`,
    );
    return { columns: columns.rows, indexes: indexes.rows };
  } finally {
    await client.end();
  }
}
