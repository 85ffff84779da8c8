import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';

/** Where the project's scripts put the Temporal binaries (outside the checkout, reused across runs). */
export const cacheDir = loadConfig({ ...process.env, DATABASE_URL: undefined }).cacheDir;
export const testServerPath = path.join(cacheDir, 'bin', 'temporal-test-server');
export const tmpRoot = path.join(os.tmpdir(), 'bpo-tests');

/** A fresh directory under `root` (the tests' by default) that a PostgreSQL server may use as its data dir. */
export function makeTmpDir(prefix: string, root = tmpRoot): string {
  fs.mkdirSync(root, { recursive: true });
  const dir = fs.mkdtempSync(path.join(root, prefix));
  // PostgreSQL runs as its own system user when we are root: it must be able to reach its data dir.
  fs.chmodSync(dir, 0o755);
  return dir;
}
