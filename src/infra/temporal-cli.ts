import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger';

/**
 * Finds the Temporal CLI (dev server + Web UI), in this order: TEMPORAL_CLI_PATH, the PATH, the project's cache,
 * the SDK's own download (needs internet), and last a build from the Go module proxy. v1.5.1 is the newest tag
 * `go install` can build: later ones `replace` a module the proxy does not serve.
 */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export async function findOrInstallTemporalCli(opts: {
  explicitPath?: string;
  cacheDir: string;
  log: Logger;
}): Promise<string> {
  const { log } = opts;
  if (opts.explicitPath) {
    if (!isExecutable(opts.explicitPath))
      throw new Error(`TEMPORAL_CLI_PATH ${opts.explicitPath} is not an executable`);
    return opts.explicitPath;
  }
  const onPath = whichTemporal();
  if (onPath) return onPath;

  const binDir = path.join(opts.cacheDir, 'bin');
  const cached = path.join(binDir, 'temporal');
  if (isExecutable(cached)) return cached;

  fs.mkdirSync(binDir, { recursive: true });
  log.info('Temporal CLI not found: trying the SDK download (needs internet)');
  const downloaded = await downloadWithSdk(path.join(opts.cacheDir, 'sdk-download'), log);
  if (downloaded) {
    fs.copyFileSync(downloaded, cached);
    fs.chmodSync(cached, 0o755);
    return cached;
  }

  log.info(
    { module: TEMPORAL_CLI_MODULE },
    'building the Temporal CLI with `go install` (first run only, a few minutes)',
  );
  await goInstall(binDir, log);
  if (!isExecutable(cached)) throw new Error(`go install finished but ${cached} is missing`);
  return cached;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function whichTemporal(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'temporal');
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The SDK downloads the CLI when it starts a local server; start one briefly and keep the binary it fetched. */
async function downloadWithSdk(downloadDir: string, log: Logger): Promise<string | undefined> {
  fs.mkdirSync(downloadDir, { recursive: true });
  try {
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'cached-download', downloadDir }, ui: false },
    });
    await env.teardown();
  } catch (error) {
    log.info({ reason: String(error).split('\n')[0] }, 'SDK download unavailable');
    return undefined;
  }
  return fs
    .readdirSync(downloadDir)
    .map((name) => path.join(downloadDir, name))
    .find((file) => isExecutable(file) && path.basename(file).startsWith('temporal'));
}

async function goInstall(binDir: string, log: Logger): Promise<void> {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) {
    throw new Error(
      'the Temporal CLI is not installed and Go is not available to build it: install Go, put `temporal` on the PATH, ' +
        'set TEMPORAL_CLI_PATH, or set TEMPORAL_ADDRESS to an existing server',
    );
  }
  const started = Date.now();
  const heartbeat = setInterval(
    () => log.info({ elapsedSeconds: Math.round((Date.now() - started) / 1000) }, 'still building the Temporal CLI'),
    15_000,
  );
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('go', ['install', TEMPORAL_CLI_MODULE], {
        env: { ...process.env, GOBIN: binDir, GOFLAGS: '-mod=mod' },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go install exited with ${code}`))));
    });
  } finally {
    clearInterval(heartbeat);
  }
  log.info({ seconds: Math.round((Date.now() - started) / 1000) }, 'Temporal CLI built');
}
