import { createLogger } from '../../src/logger';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createPrisma } from '../../src/db';
import { createWorker } from '../../src/temporal/worker';
import { aVendor, anEngagement } from '../builders/engagement';
import { startTestApi, type TestApi } from '../helpers/app';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { connectDevServer, workflowBundle } from '../helpers/temporal';
import { eventually } from '../helpers/wait';

const TASK_QUEUE = 'foundation-e2e';

describe('API → Temporal dev server → worker → PostgreSQL', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let api: TestApi;

  beforeAll(async () => {
    db = await createTestDatabase();
    env = await connectDevServer();
    const base = { address: process.env.TEST_TEMPORAL_ADDRESS!, namespace: 'default', taskQueue: TASK_QUEUE };
    worker = await createWorker({
      temporal: { ...base, tls: false },
      prisma: db.prisma,
      client: env.client,
      log: createLogger('worker', 'silent'),
      connection: env.nativeConnection,
      overrides: { workflowBundle: await workflowBundle(), workflowsPath: undefined },
    });
    running = worker.run();
    api = await startTestApi({ prisma: db.prisma, databaseUrl: db.url, temporal: env.client, taskQueue: TASK_QUEUE });
  });

  afterAll(async () => {
    await api?.close();
    worker?.shutdown();
    await running;
    await env?.teardown();
    await db?.drop();
  });

  it('reports both dependencies up on /health', async () => {
    const res = await api.request('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', dependencies: { postgres: { ok: true }, temporal: { ok: true } } });
  });

  it('starts the lifecycle from the API; the worker writes the stage change to PostgreSQL', async () => {
    // given a vendor and an engagement whose term has started
    const pm = await api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const engagement = await pm('POST', '/engagements', anEngagement(vendor.body.id, { termStart: '2026-01-01' }));
    expect(engagement.status).toBe(201);

    // when the program manager starts its lifecycle
    const started = await pm('POST', `/engagements/${engagement.body.id}/lifecycle`, {});
    expect(started.status).toBe(202);

    // then the worker opens the transition, and its fact is in PostgreSQL, once
    const read = await eventually(
      () => pm('GET', `/engagements/${engagement.body.id}`).then((r) => r.body),
      (e) => e.lifecycle?.stage === 'TRANSITION' && e.stage === 'TRANSITION',
    );
    expect(read.lifecycle.milestones.noticeDeadline.slice(0, 10)).toBe('2028-10-02');
    const changes = await db.prisma.stageChange.findMany({ where: { engagementId: engagement.body.id } });
    expect(changes.map((c) => [c.fromStage, c.toStage])).toEqual([['CONTRACTED', 'TRANSITION']]);
    // (the transition child is terminated with its parent)
    await env.client.workflow.getHandle(started.body.workflowId).terminate('test over');
  });

  it('returns the running lifecycle when the start is repeated', async () => {
    // given an engagement whose term starts next year, so its lifecycle keeps waiting
    const pm = await api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const engagement = await pm(
      'POST',
      '/engagements',
      anEngagement(vendor.body.id, { termStart: '2099-01-01', termEnd: '2100-01-01' }),
    );

    // when the start is sent twice
    const first = await pm('POST', `/engagements/${engagement.body.id}/lifecycle`, {});
    const second = await pm('POST', `/engagements/${engagement.body.id}/lifecycle`, {});

    // then both answers name the same run
    expect(second.body.runId).toBe(first.body.runId);
    await env.client.workflow.getHandle(first.body.workflowId).terminate('test over');
  });
});

describe('/health with a dependency down', () => {
  it('answers 503 and names Temporal when Temporal is unreachable', async () => {
    const db = await createTestDatabase();
    // given a client for a port where nothing listens
    const connection = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 500 });
    const temporal = new Client({ connection });
    const api = await startTestApi({ prisma: db.prisma, databaseUrl: db.url, temporal, taskQueue: 'none' });
    try {
      const res = await api.request('GET', '/health');
      expect(res.status).toBe(503);
      expect(res.body.detail).toBe('temporal unreachable');
      expect(res.body.dependencies.postgres.ok).toBe(true);
      expect(res.body.dependencies.temporal.ok).toBe(false);
      // /health needs no key: it does not repeat the driver's message, which names the address (it used to)
      expect(JSON.stringify(res.body)).not.toContain('127.0.0.1:1');
      expect(res.body.dependencies.temporal.error).toMatch(/^(unreachable \(the API log says why\)|no answer within)/);
    } finally {
      await api.close();
      await db.drop();
    }
  });

  it('answers 503 and names PostgreSQL when the database is unreachable', async () => {
    const env = await connectDevServer();
    // given a database URL where nothing listens
    const prisma = createPrisma('postgresql://postgres:postgres@127.0.0.1:1/none');
    const api = await startTestApi({ prisma, temporal: env.client, taskQueue: 'none' });
    try {
      const res = await api.request('GET', '/health');
      expect(res.status).toBe(503);
      expect(res.body.detail).toBe('postgres unreachable');
      expect(res.body.dependencies.temporal.ok).toBe(true);
    } finally {
      await api.close();
      await env.teardown();
    }
  });
});
