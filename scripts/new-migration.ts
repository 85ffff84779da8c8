/**
 * Authors a migration by diffing the committed schema against the working one. `prisma migrate dev` crashes in the
 * JS schema engine on PostgreSQL, so this is how migrations are made here:
 *   npm run migration:new -- <name>
 * It needs a reachable database (the embedded one from `npm start`, or DATABASE_URL).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run migration:new -- <snake_case_name>');
  process.exit(2);
}

const migrationsDir = path.join('prisma', 'migrations');
const hasPrevious = fs.existsSync(migrationsDir) && fs.readdirSync(migrationsDir).some((d) => /^\d{14}_/.test(d));
const from: string[] = ['--from-empty'];
if (hasPrevious) {
  const previous = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'schema-')), 'schema.prisma');
  fs.writeFileSync(previous, execFileSync('git', ['show', 'HEAD:prisma/schema.prisma']));
  from.splice(0, 1, '--from-schema-datamodel', previous);
}

const sql = execFileSync(
  'npx',
  ['prisma', 'migrate', 'diff', ...from, '--to-schema-datamodel', 'prisma/schema.prisma', '--script'],
  { encoding: 'utf8' },
);
if (!/\b(CREATE|ALTER|DROP)\b/.test(sql)) {
  console.error('schema unchanged since HEAD: no migration written');
  process.exit(1);
}
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const dir = path.join(migrationsDir, `${stamp}_${name}`);
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'migration.sql'), sql);
fs.writeFileSync(path.join(migrationsDir, 'migration_lock.toml'), 'provider = "postgresql"\n');
console.log(`wrote ${dir}/migration.sql`);
