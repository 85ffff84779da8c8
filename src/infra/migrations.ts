import fs from 'node:fs';
import path from 'node:path';

/** The project's Prisma migrations directory, from the project root (where npm runs its scripts and the tests). */
export const MIGRATIONS_DIR = path.resolve('prisma', 'migrations');

/** The committed migrations' names (`<14-digit stamp>_<name>`), in the order they apply. */
export function migrationNames(): string[] {
  return fs
    .readdirSync(MIGRATIONS_DIR)
    .filter((d) => /^\d{14}_/.test(d))
    .sort();
}
