import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Client, Connection } from '@temporalio/client';
import { createApp } from '../../src/api/app';
import { WorkflowWatches } from '../../src/api/workflow-watches';
import { CHANNEL, EngagementChanges } from '../../src/api/engagement-changes';
import { issueApiKey } from '../../src/auth/api-keys';
import { loadConfig, type Config } from '../../src/config';
import type { PrismaClient } from '../../src/db';
import type { Role } from '../../src/generated/prisma/enums';
import { createLogger } from '../../src/logger';
import { connectTemporal } from '../../src/temporal/connection';

/** The real Express app on a free loopback port, with a small fetch wrapper for JSON. */
type Request = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<TestResponse>;

export interface TestApi {
  url: string;
  app: ReturnType<typeof createApp>;
  config: Config;
  /** Unauthenticated request. */
  request: Request;
  /** Requests with a fresh API key of this role (vendor keys bound to `vendorId`). */
  as(role: Role, vendorId?: string): Promise<Request>;
  /**
   * Resolves once the API has heard every change committed before the call (given `databaseUrl`): a test that
   * checks what is kept until a change is heard waits for the announcements of its own setup first.
   */
  heardEverything(): Promise<void>;
  /** The workflow watches, when `watchWorkflows` was asked for. */
  watches?: WorkflowWatches;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  contentType: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
}

export async function startTestApi(deps: {
  prisma: PrismaClient;
  temporal: Client;
  taskQueue: string;
  /** The API's read cache period, when a test needs another than the default. */
  readCacheMs?: number;
  /** How long a steering request waits for its workflow, when a test needs another than the default. */
  updateTimeoutMs?: number;
  /** The database `prisma` is on: given, the API listens for its engagement changes, as the API process does. */
  databaseUrl?: string;
  /** Follow running lifecycles' histories, as the API process does (off by default: describes instead). */
  watchWorkflows?: boolean;
}): Promise<TestApi> {
  const base = loadConfig({ TEMPORAL_TASK_QUEUE: deps.taskQueue, LOG_LEVEL: 'silent' });
  const config: Config = {
    ...base,
    readCacheMs: deps.readCacheMs ?? base.readCacheMs,
    updateTimeoutMs: deps.updateTimeoutMs ?? base.updateTimeoutMs,
    temporal: { ...base.temporal, namespace: deps.temporal.options.namespace },
  };
  const log = createLogger('api', 'silent');
  const changes = deps.databaseUrl ? new EngagementChanges(deps.databaseUrl, log) : undefined;
  await changes?.open();
  // Notifications reach subscribers in commit order: once a marker of ours is heard, everything before it was.
  const markers = new Map<string, () => void>();
  changes?.subscribe({
    change: (payload) => markers.get(payload)?.(),
    gap: () => undefined,
  });
  // As the API process does: the watches' own connection, without retries, to the server the tests' client is on.
  const watching = deps.watchWorkflows
    ? await connectTemporal(
        { ...config.temporal, address: (deps.temporal.connection as Connection).options.address },
        { lazy: true, retries: false },
      )
    : undefined;
  const watches = watching && new WorkflowWatches(watching, config.workflowWatches);
  const app = createApp({ prisma: deps.prisma, temporal: deps.temporal, config, log, changes, watches });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const request: Request = async (method, path, body, headers = {}) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const res = await fetch(url + path, init);
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    return { status: res.status, contentType, body: contentType.includes('json') && text ? JSON.parse(text) : text };
  };
  return {
    url,
    app,
    config,
    request,
    watches,
    async heardEverything() {
      if (!changes) throw new Error('the API listens for changes only when given databaseUrl');
      const marker = `heard-${randomUUID()}`;
      let timer: NodeJS.Timeout | undefined;
      const heard = new Promise<void>((resolve, reject) => {
        markers.set(marker, resolve);
        timer = setTimeout(() => reject(new Error('the API did not hear its marker notification within 10 s')), 10_000);
      });
      try {
        await deps.prisma.$executeRaw`SELECT pg_notify(${CHANNEL}, ${marker})`;
        await heard;
      } finally {
        clearTimeout(timer);
        markers.delete(marker);
      }
    },
    async as(role, vendorId) {
      const { key } = await issueApiKey(deps.prisma, { name: `test-${role.toLowerCase()}`, role, vendorId });
      return (method, path, body, headers = {}) =>
        request(method, path, body, { authorization: `Bearer ${key}`, ...headers });
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive sockets of the tests' clients (and requests a benchmark's Ctrl-C cut short) must not hold it open.
      server.closeAllConnections();
      await closed;
      watches?.close();
      await watching?.connection.close();
      await changes?.close();
    },
  };
}
