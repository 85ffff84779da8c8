import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

/** The committed migrations must build exactly the schema in prisma/schema.prisma: no drift. */
describe('migrations', () => {
  let fromMigrations: TestDatabase;
  let fromSchema: TestDatabase;
  let deployed: TestDatabase;
  const root = path.join(__dirname, '..', '..');
  beforeAll(async () => {
    fromMigrations = await createTestDatabase();
    fromSchema = await createTestDatabase({ empty: true });
    deployed = await createTestDatabase({ empty: true });
  });
  afterAll(async () => {
    await fromMigrations?.drop();
    await fromSchema?.drop();
    await deployed?.drop();
  });

  it('build the same tables, columns, types and indexes as the schema', async () => {
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

  it('apply through `prisma migrate deploy` (as `npm start` and deployments run them), triggers and all', async () => {
    // The tests' databases are built by sending each migration's SQL to pg; deployments go through Prisma's schema
    // engine and the pg adapter, which once split scripts on every ";" and broke a PL/pgSQL function.
    execFileSync(path.join(root, 'node_modules', '.bin', 'prisma'), ['migrate', 'deploy'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: deployed.url },
    });
    const committed = fs.readdirSync(path.join(root, 'prisma', 'migrations')).filter((d) => /^\d{14}_/.test(d));
    const client = new pg.Client({ connectionString: deployed.url });
    await client.connect();
    try {
      const applied = await client.query(
        `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL
          ORDER BY migration_name`,
      );
      expect(applied.rows.map((r) => r.migration_name)).toEqual(committed.sort());
    } finally {
      await client.end();
    }
    expect(await describeSchema(deployed.url)).toEqual(await describeSchema(fromMigrations.url));
    expect(await describeTriggers(deployed.url)).toEqual(await describeTriggers(fromMigrations.url));
    expect((await describeTriggers(deployed.url)).length).toBeGreaterThan(0);
  });
});

async function describeTriggers(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const triggers = await client.query(
      `SELECT c.relname AS table, t.tgname AS trigger, pg_get_triggerdef(t.oid) AS definition
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE NOT t.tgisinternal ORDER BY c.relname, t.tgname`,
    );
    return triggers.rows;
  } finally {
    await client.end();
  }
}

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
