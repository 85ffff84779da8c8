import type { Client } from '@temporalio/client';
import { loadConfig } from '../../src/config';
import { connectTemporal, waitForNamespace } from '../../src/temporal/connection';
import { transitionWorkflowId } from '../../workflows/transition.messages';
import { anEngagement, aVendor } from '../builders/engagement';
import { startTestApi, type TestApi, type TestResponse } from '../helpers/app';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { dayOffset, GOOD, putMeasurements } from '../helpers/kpi-data';
import { startOwnTemporal, type OwnTemporal } from '../helpers/own-servers';
import { eventually } from '../helpers/wait';
import { killAllWorkerProcesses, spawnWorkerProcess } from '../helpers/worker-process';

const TASK_QUEUE = 'faults-temporal-restart';

const WAVES = [10, 25, 50, 100].map((volumePct, i) => ({
  kind: 'RAMP_WAVE',
  name: `wave-${i + 1}`,
  volumePct,
  // wave 2 outlasts the moment the test takes to kill the server once it has seen wave 2 start
  minDuration: i === 1 ? '5s' : '2s',
}));

describe('the Temporal server killed and restarted mid-transition', () => {
  let temporal: OwnTemporal;
  let db: TestDatabase;
  let client: Client;
  let api: TestApi;
  beforeAll(async () => {
    temporal = await startOwnTemporal();
    db = await createTestDatabase();
    // As the API process connects: lazily, so it starts and recovers while Temporal is down.
    client = await connectTemporal(loadConfig({ TEMPORAL_ADDRESS: temporal.address }).temporal, { lazy: true });
    await waitForNamespace(client, 30_000);
    api = await startTestApi({ prisma: db.prisma, databaseUrl: db.url, temporal: client, taskQueue: TASK_QUEUE });
  });
  afterAll(async () => {
    await killAllWorkerProcesses();
    await api?.close();
    await client?.connection.close();
    await temporal?.close();
    await db?.drop();
  });

  const outageIssue = { severity: 'P2', category: 'outage', title: 'Dialler down', description: 'No outbound calls' };
  const outageKey = { 'idempotency-key': 'dialler-down' };

  it('answers 503 problems naming Temporal while it is down, and the transition resumes when it is back', async () => {
    // given a transition running on a worker process, and a second engagement not started yet
    const pm = await api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId));
    const { body: later } = await pm('POST', '/engagements', anEngagement(vendorId));
    await putMeasurements(db.prisma, e.id, { start: dayOffset(Date.now(), -1), end: dayOffset(Date.now(), 30) }, GOOD);
    const worker = spawnWorkerProcess({
      databaseUrl: db.url,
      taskQueue: TASK_QUEUE,
      temporalAddress: temporal.address,
    });
    await worker.ready;
    expect((await pm('POST', `/engagements/${e.id}/transition`, { phases: WAVES })).status).toBe(202);
    const phaseStatus = async (sequence: number) =>
      (await db.prisma.transitionPhase.findFirst({ where: { plan: { engagementId: e.id }, sequence } }))?.status;
    await eventually(
      () => phaseStatus(2),
      (status) => status === 'ACTIVE',
    );

    // when the server is killed while wave 2 runs
    await temporal.kill();
    const downSince = Date.now();

    // then every route that needs Temporal answers a 503 problem saying so; reads still serve the facts
    const timed = async (send: () => Promise<TestResponse>) => {
      const sent = Date.now();
      return { res: await send(), ms: Date.now() - sent };
    };
    const refused = [
      await timed(() => api.request('GET', '/health')),
      await timed(() => pm('POST', `/engagements/${e.id}/transition/approve-gate`, {})),
      await timed(() => pm('POST', `/engagements/${e.id}/transition/pause`, { reason: 'outage' })),
      await timed(() => pm('POST', `/engagements/${later.id}/transition`, { phases: WAVES })),
      await timed(() => pm('POST', `/engagements/${later.id}/lifecycle`, {})),
      await timed(() => pm('POST', `/engagements/${later.id}/escalations`, outageIssue, outageKey)),
    ];
    for (const { res, ms } of refused) {
      expect([res.status, res.contentType]).toEqual([503, expect.stringContaining('application/problem+json')]);
      // within the API's own short Temporal deadline, not after the client's retries have run their course
      expect(ms).toBeLessThan(8000);
      expect(res.body).toMatchObject({ title: 'Service Unavailable', status: 503 });
    }
    expect(refused[0].res.body).toMatchObject({
      detail: 'temporal unreachable',
      dependencies: { postgres: { ok: true } },
    });
    for (const { res } of refused.slice(1)) expect(res.body.detail).toMatch(/^Temporal is unreachable/);
    // the escalation refused is not left behind, stored but never climbing
    expect(await db.prisma.escalation.count({ where: { engagementId: later.id } })).toBe(0);
    const read = await pm('GET', `/engagements/${e.id}/transition`);
    expect(read.status).toBe(200);
    expect(read.body.live).toBeNull();
    expect(read.body.liveUnavailable).toMatch(/^Temporal is unreachable/);
    expect(read.body.plan.phases.map((p: { status: string }) => p.status)).toEqual([
      'PASSED',
      'ACTIVE',
      'PENDING',
      'PENDING',
    ]);

    // and when it is restarted on the same database file, the same API process recovers on its own
    await temporal.restart();
    const restartedAt = Date.now();
    const sinceRestart = async (condition: Promise<unknown>) => (await condition, Date.now() - restartedAt);
    const [healthyAfterMs, resumedAfterMs] = await Promise.all([
      sinceRestart(
        eventually(
          () => api.request('GET', '/health'),
          (res) => res.status === 200,
          60_000,
        ),
      ),
      sinceRestart(
        eventually(
          () => phaseStatus(2),
          (status) => status === 'PASSED',
          60_000,
        ),
      ),
    ]);
    expect(healthyAfterMs).toBeLessThan(15_000);
    expect((await pm('POST', `/engagements/${later.id}/transition`, { phases: WAVES })).status).toBe(202);
    // the refused escalation, sent again under its key, is raised now, once, with its workflow
    const raised = await pm('POST', `/engagements/${later.id}/escalations`, outageIssue, outageKey);
    expect(raised.status).toBe(201);
    const described = await client.workflow.getHandle(raised.body.workflowId).describe();
    expect(described.status.name).toBe('RUNNING');
    expect(await db.prisma.escalation.count({ where: { engagementId: later.id } })).toBe(1);

    // and the transition carries on from wave 2 to the end, on the worker that rode out the outage
    const result = await client.workflow.getHandle(transitionWorkflowId(e.id)).result();
    expect(result.status).toBe('COMPLETED');
    expect(worker.child.exitCode).toBeNull();
    await worker.kill('SIGTERM');
    console.log(
      `Temporal down ${restartedAt - downSince} ms; ${refused.length} requests answered 503 in ` +
        `${refused.map((r) => r.ms).join(', ')} ms; /health 200 again ${healthyAfterMs} ms after the restart; ` +
        `wave 2 passed ${resumedAfterMs} ms after the restart`,
    );
    const phases = await db.prisma.transitionPhase.findMany({
      where: { plan: { engagementId: e.id } },
      include: { gateEvaluations: true },
      orderBy: { sequence: 'asc' },
    });
    expect(phases.map((p) => [p.name, p.status, p.gateEvaluations.map((g) => g.attempt)])).toEqual(
      WAVES.map((w) => [w.name, 'PASSED', [1]]),
    );
    const volumes = await db.prisma.volumeChange.findMany({
      where: { engagementId: e.id },
      orderBy: { fromPct: 'asc' },
    });
    expect(volumes.map((v) => [v.fromPct, v.toPct])).toEqual([
      [0, 10],
      [10, 25],
      [25, 50],
      [50, 100],
    ]);
    const stages = await db.prisma.stageChange.findMany({ where: { engagementId: e.id } });
    expect(stages.map((s) => s.toStage).sort()).toEqual(['STEADY_STATE', 'TRANSITION']);
    await client.workflow.getHandle(transitionWorkflowId(later.id)).terminate('test over');
  });
});
