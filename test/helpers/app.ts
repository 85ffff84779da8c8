import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import { createApp } from '../../src/api/app';
import { loadConfig, type Config } from '../../src/config';
import type { PrismaClient } from '../../src/db';
import { createLogger } from '../../src/logger';

/** The real Express app on a free loopback port, with a small fetch wrapper for JSON. */
export interface TestApi {
  url: string;
  config: Config;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<TestResponse>;
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
}): Promise<TestApi> {
  const base = loadConfig({ TEMPORAL_TASK_QUEUE: deps.taskQueue, LOG_LEVEL: 'silent' });
  const config: Config = { ...base, temporal: { ...base.temporal, namespace: deps.temporal.options.namespace } };
  const app = createApp({ prisma: deps.prisma, temporal: deps.temporal, config, log: createLogger('api', 'silent') });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    config,
    async request(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      }
      const res = await fetch(url + path, init);
      const text = await res.text();
      const contentType = res.headers.get('content-type') ?? '';
      return { status: res.status, contentType, body: contentType.includes('json') && text ? JSON.parse(text) : text };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
