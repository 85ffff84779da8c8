import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { hashApiKey, issueApiKey } from '../../src/auth/api-keys';
import { anEngagement, aVendor } from '../builders/engagement';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { freePort } from '../helpers/global-setup';
import { eventually } from '../helpers/wait';

/**
 * The API and a worker as their own processes, as `npm run api` and `npm run worker` start them, logging at trace
 * level: whatever the API is asked, with good, bad or revoked keys, whatever the worker runs, and even when a query
 * or a webhook delivery fails, no API key, database password, webhook secret or token in the webhook's URL reaches
 * either log.
 */
describe('secrets and the log', () => {
  let db: TestDatabase;
  let api: ChildProcess | undefined;
  let worker: ChildProcess | undefined;
  let receiver: Server | undefined;
  const role = `api_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const password = `pw-${randomBytes(16).toString('hex')}`;
  const webhookSecret = `whsec-${randomBytes(16).toString('hex')}`;
  const urlToken = `tok-${randomBytes(16).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    // A login of its own, so the password in DATABASE_URL is one no other text could contain by chance.
    await db.prisma.$executeRawUnsafe(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await db.prisma.$executeRawUnsafe(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await db.prisma.$executeRawUnsafe(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
  });
  afterAll(async () => {
    for (const child of [api, worker]) if (child?.exitCode === null) child.kill('SIGKILL');
    receiver?.close();
    await db.drop();
    const admin = new pg.Client({ connectionString: process.env.TEST_POSTGRES_URL });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('never logs an API key, the DATABASE_URL password, the webhook secret or its URL token, in the API or the worker', async () => {
    // Given the API process with every secret set, logging everything
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    const port = await freePort();
    // A webhook receiver that fails the first two deliveries: the worker's notify fails, says so in its log, and
    // retries until the third is taken.
    let deliveries = 0;
    receiver = createServer((req, res) => {
      deliveries++;
      req.resume().on('end', () => res.writeHead(deliveries > 2 ? 204 : 500).end());
    });
    await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
    const env = {
      ...process.env,
      NODE_OPTIONS: '',
      DATABASE_URL: url.toString(),
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: `secrets-${randomUUID()}`,
      API_PORT: String(port),
      LOG_LEVEL: 'trace',
      NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/notify?token=${urlToken}`,
      NOTIFY_WEBHOOK_SECRET: webhookSecret,
    };
    const run = (entry: string, ready: string) => {
      const child = spawn(process.execPath, ['--import', 'tsx', entry], {
        cwd: path.join(__dirname, '..', '..'),
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out = { child, log: '', exited: new Promise<number | null>((resolve) => child.once('exit', resolve)) };
      child.stdout!.on('data', (chunk: Buffer) => (out.log += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (out.log += chunk.toString()));
      return eventually(
        async () => out.log,
        (text) => text.includes(ready),
      ).then(() => out);
    };
    const [apiProcess, workerProcess] = await Promise.all([
      run('src/server.ts', 'API listening'),
      run('src/worker.ts', 'worker polling'),
    ]);
    api = apiProcess.child;
    worker = workerProcess.child;
    const base = `http://127.0.0.1:${port}`;
    const call = async (method: string, route: string, headers: Record<string, string>, body?: unknown) => {
      const res = await fetch(base + route, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    // When it is called with keys of every kind, and a query fails
    const admin = (await issueApiKey(db.prisma, { name: 'secrets-admin', role: 'ADMIN' })).key;
    const revoked = (await issueApiKey(db.prisma, { name: 'secrets-revoked', role: 'VIEWER' })).key;
    await db.prisma.apiKey.update({ where: { keyHash: hashApiKey(revoked) }, data: { revokedAt: new Date() } });
    const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
    const vendor = await call('POST', '/vendors', bearer(admin), aVendor());
    expect(vendor.status).toBe(201);
    const issued = await call('POST', '/api-keys', bearer(admin), {
      name: 'portal',
      role: 'VENDOR',
      vendorId: vendor.body.id,
    });
    expect(issued.status).toBe(201);
    const vendorKey = issued.body.key as string;
    expect((await call('GET', '/engagements', bearer(vendorKey))).status).toBe(200);
    expect((await call('GET', '/engagements', { 'x-api-key': vendorKey })).status).toBe(200);
    expect((await call('GET', '/audit-log', bearer(vendorKey))).status).toBe(403);
    expect((await call('GET', '/vendors', bearer(revoked))).status).toBe(401);
    expect((await call('GET', '/vendors', bearer(`${admin}x`))).status).toBe(401);
    expect((await call('POST', '/vendors', bearer(admin), { legalName: 42 })).status).toBe(400);
    // and the worker runs an escalation whose notices the webhook refuses
    const engagement = await call('POST', '/engagements', bearer(admin), anEngagement(vendor.body.id as string));
    expect(engagement.status).toBe(201);
    const raised = await call('POST', `/engagements/${engagement.body.id}/escalations`, bearer(vendorKey), {
      severity: 'P2',
      category: 'billing',
      title: 'Invoice disputed',
      description: 'Credits are missing',
    });
    expect(raised.status).toBe(201);
    await eventually(
      async () => deliveries,
      (n) => n >= 3,
    );
    await db.prisma.$executeRawUnsafe(`REVOKE SELECT ON "Vendor" FROM ${role}`);
    expect((await call('GET', '/vendors', bearer(admin))).status).toBe(500);
    api.kill('SIGTERM');
    worker.kill('SIGTERM');
    expect(await apiProcess.exited).toBe(0);
    expect(await workerProcess.exited).toBe(0);

    // Then each log tells what happened, and none of the secrets
    expect(apiProcess.log).toContain('unhandled error');
    expect(apiProcess.log).toContain('shutting down');
    expect(workerProcess.log).toContain('answered 500');
    expect(workerProcess.log).toContain('shutting down');
    const secrets = { admin, revoked, vendorKey, password, webhookSecret, urlToken };
    const found = Object.entries({ api: apiProcess.log, worker: workerProcess.log }).flatMap(([process, log]) =>
      Object.entries(secrets)
        .filter(([, secret]) => log.includes(secret))
        .map(([name]) => `${name} in the ${process} log`),
    );
    expect(found).toEqual([]);
  });
});
