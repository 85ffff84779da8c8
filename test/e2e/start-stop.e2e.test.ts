import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { portOpen } from '../../src/infra/ports';
import { freePort } from '../helpers/global-setup';
import { cacheDir, makeTmpDir } from '../helpers/paths';
import { eventually } from '../helpers/wait';

const root = path.join(__dirname, '..', '..');

/** Ports and a data dir of a start's own, and its environment: embedded PostgreSQL and the dev server. */
async function ownPortsAndData(prefix: string, logLevel: string) {
  const ports = {
    API_PORT: await freePort(),
    EMBEDDED_POSTGRES_PORT: await freePort(),
    TEMPORAL_DEV_PORT: await freePort(),
    TEMPORAL_UI_PORT: await freePort(),
  };
  const dataDir = makeTmpDir(prefix);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    DATA_DIR: dataDir,
    CACHE_DIR: cacheDir,
    LOG_LEVEL: logLevel,
  };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  return { ports, dataDir, env };
}

/**
 * `npm start` as a user runs it, on ports of its own: what it started (PostgreSQL, the Temporal dev server and its
 * Web UI, the worker, the API) stops when its process alone is sent SIGINT, as a supervisor or `kill -INT` does, or
 * SIGHUP, as a closing terminal does.
 */
describe('npm start, stopped by a signal to its process', () => {
  it('stops every process it started, PostgreSQL and Temporal included, exits 0, and starts again on its data', async () => {
    const { ports, dataDir, env } = await ownPortsAndData('start-', 'info');
    const run = async (signal: NodeJS.Signals): Promise<string> => {
      const start = spawn(process.execPath, ['--import', 'tsx', 'src/start.ts'], { cwd: root, env, stdio: 'pipe' });
      let output = '';
      start.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      start.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => start.once('exit', resolve));
      try {
        await eventually(
          () =>
            fetch(`http://127.0.0.1:${ports.API_PORT}/health`)
              .then((r) => r.status)
              .catch(() => 0),
          (status) => status === 200,
          90_000,
        );
        for (const port of Object.values(ports)) expect(await portOpen(port)).toBe(true);

        start.kill(signal);

        expect(await exited).toBe(0);
        // PostgreSQL and the Temporal dev server are stopped before the process exits: nothing is left behind.
        for (const port of Object.values(ports)) expect([port, await portOpen(port)]).toEqual([port, false]);
        return output;
      } catch (error) {
        console.error(output);
        throw error;
      } finally {
        if (start.exitCode === null) start.kill('SIGKILL');
      }
    };
    try {
      expect(await run('SIGINT')).toContain('applying database migrations');
      // started again on the same data: nothing to migrate, so `prisma migrate deploy` is not run; stopped this time
      // by its terminal closing (SIGHUP), which used to end it at once and leave the API, worker and Temporal running
      expect(await run('SIGHUP')).toContain('database migrations up to date');
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('stops with a reason, and leaves nothing running, when a port it needs is taken', async () => {
    const { ports, dataDir, env } = await ownPortsAndData('start-taken-', 'warn');
    /** `npm start` with `port` held by another listener: its exit code and what it said. */
    const runWithTaken = async (port: number): Promise<{ code: number | null; output: string }> => {
      const held = new Set<net.Socket>();
      const holder = net.createServer((socket) => held.add(socket)).listen(port, '127.0.0.1');
      await new Promise((resolve) => holder.once('listening', resolve));
      const start = spawn(process.execPath, ['--import', 'tsx', 'src/start.ts'], { cwd: root, env, stdio: 'pipe' });
      let output = '';
      start.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      start.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      try {
        const code = await new Promise<number | null>((resolve) => start.once('exit', resolve));
        return { code, output };
      } finally {
        if (start.exitCode === null) start.kill('SIGKILL');
        for (const socket of held) socket.destroy();
        await new Promise((resolve) => holder.close(resolve));
      }
    };
    try {
      // the Temporal frontend's port: refused before the dev server starts (it used to pass for the new server)
      const temporal = await runWithTaken(ports.TEMPORAL_DEV_PORT);
      expect(temporal.code).toBe(1);
      expect(temporal.output).toContain(`port ${ports.TEMPORAL_DEV_PORT} is already in use`);
      // the API's port: refused before the API starts (it used to hang, "up", on the other listener's answers)
      const api = await runWithTaken(ports.API_PORT);
      expect(api.code).toBe(1);
      expect(api.output).toContain(`port ${ports.API_PORT} is already in use`);
      expect(api.output).not.toContain('BPO lifecycle orchestrator is up');
      // nothing it started is left listening (the API's port is the holder's)
      for (const port of Object.values(ports).filter((p) => p !== ports.API_PORT))
        expect([port, await portOpen(port)]).toEqual([port, false]);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
