import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';

/** Where the project's scripts put the Temporal binaries (outside the checkout, reused across runs). */
export const cacheDir = loadConfig({ ...process.env, DATABASE_URL: undefined }).cacheDir;
export const testServerPath = path.join(cacheDir, 'bin', 'temporal-test-server');
export const tmpRoot = path.join(os.tmpdir(), 'bpo-tests');
