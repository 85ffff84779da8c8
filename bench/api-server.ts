/**
 * The API as its own process for the read benchmark (spawned by bench/lib/api-process.ts, not run by hand): the
 * product's Express app (createApp, through the same helper the tests use) and, in the same process, a bare
 * Express app with one JSON route: the floor the API's routes are compared to. Load comes from another process,
 * so the load generator never shares this event loop.
 */
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import express from 'express';
import { loadConfig } from '../src/config';
import { startTestApi } from '../test/helpers/app';
import type { FromApi, ToApi } from './lib/api-process';
import { countedPrisma } from './lib/counted-prisma';

async function main(): Promise<void> {
  const config = loadConfig({
    API_READ_CACHE_MS: process.env.API_READ_CACHE_MS,
    API_WORKFLOW_WATCHES: process.env.API_WORKFLOW_WATCHES,
  });
  const { prisma, sql } = countedPrisma(process.env.BENCH_DATABASE_URL!);
  const client = new Client({ connection: await Connection.connect({ address: process.env.BENCH_TEMPORAL_ADDRESS! }) });
  const api = await startTestApi({
    prisma,
    // As the API process does: cached engagements are dropped when PostgreSQL announces a change to them.
    databaseUrl: process.env.BENCH_DATABASE_URL!,
    temporal: client,
    taskQueue: process.env.BENCH_TASK_QUEUE!,
    readCacheMs: config.readCacheMs,
    // As the API process does, unless the run compares without (API_WORKFLOW_WATCHES=0).
    watchWorkflows: config.workflowWatches > 0,
  });

  const bare = express();
  bare.disable('x-powered-by');
  bare.get('/bare', (_req, res) => {
    res.json({ id: '00000000-0000-0000-0000-000000000000', name: 'bare', stage: 'STEADY_STATE' });
  });
  const server = await new Promise<ReturnType<typeof bare.listen>>((resolve) => {
    const s = bare.listen(0, '127.0.0.1', () => resolve(s));
  });
  const bareUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bare`;

  const stop = async () => {
    await new Promise((resolve) => server.close(resolve));
    await api.close();
    await client.connection.close();
    await prisma.$disconnect();
    process.exit(0);
  };
  process.on('message', (message: ToApi) => {
    if (message.kind === 'stop') void stop();
    else process.send!({ kind: 'sql', ...sql } satisfies FromApi);
  });
  process.on('disconnect', () => void stop());
  process.send!({ kind: 'ready', pid: process.pid, apiUrl: api.url, bareUrl } satisfies FromApi);
}

main().catch((error: unknown) => {
  console.error('bench API server failed:', error);
  process.exit(1);
});
