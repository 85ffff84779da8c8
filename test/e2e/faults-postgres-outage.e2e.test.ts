import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { loadConfig } from '../../src/config';
import { createPrisma, QUERY_TIMEOUT_MS, type PrismaClient } from '../../src/db';
import { connectTemporal } from '../../src/temporal/connection';
import { transitionWorkflowId } from '../../workflows/transition.messages';
import { aKpiSubmission, anEngagement, aVendor } from '../builders/engagement';
import { startTestApi, type TestApi, type TestResponse } from '../helpers/app';
import { dayOffset, GOOD, putMeasurements } from '../helpers/kpi-data';
import { startOwnPostgres, type OwnPostgres } from '../helpers/own-servers';
import { eventually } from '../helpers/wait';
import { killAllWorkerProcesses, spawnWorkerProcess } from '../helpers/worker-process';

const TASK_QUEUE = 'faults-postgres-outage';

const WAVES = [10, 25, 50, 100].map((volumePct, i) => ({
  kind: 'RAMP_WAVE',
  name: `wave-${i + 1}`,
  volumePct,
  // wave 2 outlasts the moment the test takes to stop PostgreSQL once it has seen wave 2 start
  minDuration: i === 1 ? '5s' : '1s',
}));

describe('PostgreSQL stopped while a transition runs', () => {
  let postgres: OwnPostgres;
  let prisma: PrismaClient;
  let client: Client;
  let api: TestApi;
  beforeAll(async () => {
    postgres = await startOwnPostgres();
    prisma = createPrisma(postgres.databaseUrl);
    client = await connectTemporal(loadConfig({ TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS }).temporal);
    api = await startTestApi({ prisma, databaseUrl: postgres.databaseUrl, temporal: client, taskQueue: TASK_QUEUE });
  });
  afterAll(async () => {
    await killAllWorkerProcesses();
    await api?.close();
    await client?.connection.close();
    await prisma?.$disconnect();
    await postgres?.close();
  });

  it('retries the activities with backoff, answers 503 problems naming the database, and loses nothing', async () => {
    // given a transition running on a worker process, in wave 2
    const pm = await api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const vendor = await api.as('VENDOR', vendorId);
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId));
    const { body: notStarted } = await pm('POST', '/engagements', anEngagement(vendorId, { name: 'Not started' }));
    await putMeasurements(prisma, e.id, { start: dayOffset(Date.now(), -1), end: dayOffset(Date.now(), 30) }, GOOD);
    const worker = spawnWorkerProcess({ databaseUrl: postgres.databaseUrl, taskQueue: TASK_QUEUE });
    await worker.ready;
    expect((await pm('POST', `/engagements/${e.id}/transition`, { phases: WAVES })).status).toBe(202);
    const phaseStatus = async (sequence: number) =>
      (await prisma.transitionPhase.findFirst({ where: { plan: { engagementId: e.id }, sequence } }))?.status;
    await eventually(
      () => phaseStatus(2),
      (status) => status === 'ACTIVE',
    );
    const before = await counts(prisma);

    // when PostgreSQL stops before wave 2's gate is judged
    await postgres.stop();
    const stoppedAt = Date.now();

    // then the API answers 503 problems naming the database, and writes nothing
    const timed = async (send: () => Promise<TestResponse>) => {
      const sent = Date.now();
      return { res: await send(), ms: Date.now() - sent };
    };
    const submission = aKpiSubmission({ periodStart: dayOffset(Date.now(), 0), periodEnd: dayOffset(Date.now(), 0) });
    const refused = [
      await timed(() => pm('GET', `/engagements/${e.id}`)),
      await timed(() => pm('GET', `/engagements/${e.id}/transition`)),
      await timed(() => pm('POST', '/vendors', aVendor())),
      await timed(() => vendor('POST', `/engagements/${e.id}/kpi-submissions`, submission, { 'idempotency-key': 'k' })),
      // a start, whose reads and writes go on the pg pool directly
      await timed(() => pm('POST', `/engagements/${notStarted.id}/lifecycle`, {})),
    ];
    for (const { res, ms } of refused) {
      expect([res.status, res.contentType]).toEqual([503, expect.stringContaining('application/problem+json')]);
      expect(res.body).toMatchObject({ title: 'Service Unavailable', status: 503 });
      expect(res.body.detail).toMatch(/^PostgreSQL is unreachable/);
      expect(ms).toBeLessThan(5000);
    }
    const health = await api.request('GET', '/health');
    expect([health.status, health.body.detail, health.body.dependencies.temporal.ok]).toEqual([
      503,
      'postgres unreachable',
      true,
    ]);

    // and the gate's activity fails and is retried with growing intervals, the workflow waiting on it
    const handle = client.workflow.getHandle(transitionWorkflowId(e.id));
    const pendingActivity = async () => (await handle.describe()).raw.pendingActivities?.[0];
    const retrying = await eventually(
      pendingActivity,
      (a) => (a?.attempt ?? 0) >= 4 && a?.nextAttemptScheduleTime != null,
      60_000,
    );
    const intervalMs = tsToMs(retrying!.nextAttemptScheduleTime) - tsToMs(retrying!.lastAttemptCompleteTime);
    expect(retrying!.activityType!.name).toBe('evaluateGate');
    expect(retrying!.lastFailure!.message).toMatch(/database|ECONNREFUSED|connect/i);
    expect(intervalMs).toBeGreaterThanOrEqual(4000);

    // and when PostgreSQL is back on the same port and data, everything recovers without a restart
    await postgres.restart();
    const restartedAt = Date.now();
    const sinceRestart = async (condition: Promise<unknown>) => (await condition, Date.now() - restartedAt);
    const [apiAfterMs, activityAfterMs] = await Promise.all([
      sinceRestart(
        eventually(
          () => pm('GET', `/engagements/${e.id}`),
          (res) => res.status === 200,
          60_000,
        ),
      ),
      sinceRestart(
        eventually(
          () => phaseStatus(2),
          (status) => status === 'PASSED',
          90_000,
        ),
      ),
    ]);
    expect((await api.request('GET', '/health')).status).toBe(200);
    const result = await handle.result();
    expect(result.status).toBe('COMPLETED');
    expect(worker.child.exitCode).toBeNull();
    await worker.kill('SIGTERM');
    console.log(
      `PostgreSQL down ${restartedAt - stoppedAt} ms; ${refused.length} requests answered 503 in ` +
        `${refused.map((r) => r.ms).join(', ')} ms; evaluateGate at attempt ${retrying!.attempt} ` +
        `(next in ${intervalMs} ms: ${retrying!.lastFailure!.message}); API answering ${apiAfterMs} ms and wave 2 ` +
        `passed ${activityAfterMs} ms after the restart`,
    );

    // then nothing was lost or written twice, and the refused requests wrote nothing
    const phases = await prisma.transitionPhase.findMany({
      where: { plan: { engagementId: e.id } },
      include: { gateEvaluations: true },
      orderBy: { sequence: 'asc' },
    });
    expect(phases.map((p) => [p.name, p.status, p.gateEvaluations.map((g) => g.attempt)])).toEqual(
      WAVES.map((w) => [w.name, 'PASSED', [1]]),
    );
    const volumes = await prisma.volumeChange.findMany({ where: { engagementId: e.id }, orderBy: { fromPct: 'asc' } });
    expect(volumes.map((v) => [v.fromPct, v.toPct])).toEqual([
      [0, 10],
      [10, 25],
      [25, 50],
      [50, 100],
    ]);
    const stages = await prisma.stageChange.findMany({ where: { engagementId: e.id } });
    expect(stages.map((s) => s.toStage).sort()).toEqual(['STEADY_STATE', 'TRANSITION']);
    expect(await counts(prisma)).toEqual({
      ...before,
      gateEvaluations: before.gateEvaluations + 3,
      volumeChanges: before.volumeChanges + 2,
      stageChanges: before.stageChanges + 1,
    });
    // and the vendor's submission, refused during the outage, is taken when sent again
    expect(
      (await vendor('POST', `/engagements/${e.id}/kpi-submissions`, submission, { 'idempotency-key': 'k' })).status,
    ).toBe(201);
  });
  it('answers 503 while PostgreSQL is up but answers nothing (SIGSTOP), and serves again once it answers', async () => {
    // given the API in use
    const pm = await api.as('PROGRAM_MANAGER');
    const { body: v } = await pm('POST', '/vendors', aVendor({ legalName: 'Frozen Server BPO' }));
    expect((await pm('GET', `/vendors/${v.id}`)).status).toBe(200);

    // when every PostgreSQL process is stopped (connections stay open; nothing is answered)
    postgres.freeze();
    let thawed = false;
    try {
      const sent = Date.now();
      const res = await pm('GET', `/vendors/${v.id}`);
      const ms = Date.now() - sent;

      // then the request is answered 503, naming the database, within the statement timeout (it used to hang)
      expect([res.status, res.body.detail]).toEqual([503, expect.stringMatching(/^PostgreSQL is unreachable/)]);
      expect(ms).toBeLessThan(QUERY_TIMEOUT_MS + 5_000);
      postgres.thaw();
      thawed = true;

      // and once PostgreSQL answers again, so does the API, without a restart
      const back = await eventually(
        () => pm('GET', `/vendors/${v.id}`),
        (r) => r.status === 200,
        30_000,
      );
      expect(back.body.legalName).toBe('Frozen Server BPO');
    } finally {
      if (!thawed) postgres.thaw();
    }
  }, 90_000);
});

async function counts(prisma: PrismaClient) {
  return {
    vendors: await prisma.vendor.count(),
    kpiSubmissions: await prisma.kpiSubmission.count(),
    auditRows: await prisma.auditLog.count(),
    gateEvaluations: await prisma.gateEvaluation.count(),
    volumeChanges: await prisma.volumeChange.count(),
    stageChanges: await prisma.stageChange.count(),
  };
}
