import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { hashApiKey, issueApiKey } from '../../src/auth/api-keys';
import { aVendor } from '../builders/engagement';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { freePort } from '../helpers/global-setup';
import { eventually } from '../helpers/wait';

/**
 * The API as its own process, as `npm run api` starts it, logging at trace level: whatever it is asked, with good,
 * bad or revoked keys, and even when a query fails unexpectedly, no API key, database password or webhook secret
 * reaches its log.
 */
describe('secrets and the log', () => {
  let db: TestDatabase;
  let api: ChildProcess | undefined;
  const role = `api_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const password = `pw-${randomBytes(16).toString('hex')}`;
  const webhookSecret = `whsec-${randomBytes(16).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    // A login of its own, so the password in DATABASE_URL is one no other text could contain by chance.
    await db.prisma.$executeRawUnsafe(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await db.prisma.$executeRawUnsafe(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await db.prisma.$executeRawUnsafe(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
  });
  afterAll(async () => {
    if (api?.exitCode === null) api.kill('SIGKILL');
    await db.drop();
    const admin = new pg.Client({ connectionString: process.env.TEST_POSTGRES_URL });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('never logs an API key, the DATABASE_URL password or the webhook secret', async () => {
    // Given the API process with every secret set, logging everything
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    const port = await freePort();
    let log = '';
    api = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: path.join(__dirname, '..', '..'),
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        DATABASE_URL: url.toString(),
        TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
        TEMPORAL_TASK_QUEUE: `secrets-${randomUUID()}`,
        API_PORT: String(port),
        LOG_LEVEL: 'trace',
        NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:9/notify',
        NOTIFY_WEBHOOK_SECRET: webhookSecret,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    api.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    api.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => api!.once('exit', resolve));
    await eventually(
      async () => log,
      (text) => text.includes('API listening'),
    );
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
    await db.prisma.$executeRawUnsafe(`REVOKE SELECT ON "Vendor" FROM ${role}`);
    expect((await call('GET', '/vendors', bearer(admin))).status).toBe(500);
    api.kill('SIGTERM');
    expect(await exited).toBe(0);

    // Then the log tells what happened, and none of the secrets
    expect(log).toContain('API listening');
    expect(log).toContain('unhandled error');
    expect(log).toContain('shutting down');
    const secrets = { admin, revoked, vendorKey, password, webhookSecret };
    const found = Object.entries(secrets)
      .filter(([, secret]) => log.includes(secret))
      .map(([name]) => name);
    expect(found).toEqual([]);
  });
});
