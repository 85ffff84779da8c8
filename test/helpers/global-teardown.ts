import fs from 'node:fs';

interface Servers {
  postgres: { stop(): Promise<void> };
  temporal: { stop(): Promise<void> };
  runDir: string;
}

export default async function globalTeardown(): Promise<void> {
  const servers = (globalThis as Record<string, unknown>).__bpoTestServers as Servers | undefined;
  if (!servers) return;
  await servers.temporal.stop();
  await servers.postgres.stop();
  fs.rmSync(servers.runDir, { recursive: true, force: true });
}
