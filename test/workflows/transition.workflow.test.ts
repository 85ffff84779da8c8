import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { transitionWorkflowId } from '../../workflows/transition.messages';
import { anEngagement, aVendor } from '../builders/engagement';
import { startTestApi, type TestApi } from '../helpers/app';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { BAD, dayOffset, GOOD, putMeasurements } from '../helpers/kpi-data';
import { recordHistoryIfAsked } from '../helpers/record';
import { createTimeSkippingEnv, workflowBundle } from '../helpers/temporal';

const DAY_MS = 86_400_000;

/** Two one-week waves, a 3-day hold, escalation with rollback at the second failure in a row. */
const TWO_WAVES = {
  phases: [
    { kind: 'PILOT', name: 'wave-1', volumePct: 10, minDuration: '7d' },
    { kind: 'RAMP_WAVE', name: 'wave-2', volumePct: 100, minDuration: '7d' },
  ],
  hold: '3d',
  maxConsecutiveFailures: 2,
  rollbackOnEscalation: true,
};

/** Months of transition in seconds: the Java time-skipping server, real activities, a real PostgreSQL. */
describe('transition workflow (time-skipping, real database)', () => {
  let env: TestWorkflowEnvironment;
  let db: TestDatabase;
  let api: TestApi;
  let worker: Worker;
  let running: Promise<void>;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    db = await createTestDatabase();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'transition-ts',
      workflowBundle: await workflowBundle(),
      activities: createActivities({
        prisma: db.prisma,
        client: env.client,
        taskQueue: 'transition-ts',
        notifiers: [],
      }),
    });
    running = worker.run();
    api = await startTestApi({
      prisma: db.prisma,
      databaseUrl: db.url,
      temporal: env.client,
      taskQueue: 'transition-ts',
    });
  });
  afterAll(async () => {
    await api?.close();
    worker?.shutdown();
    await running;
    await env?.teardown();
    await db?.drop();
  });

  async function anEngagementInTransition(plan: Record<string, unknown> = {}) {
    const pm = await api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const engagement = await pm('POST', '/engagements', anEngagement(vendor.body.id));
    return {
      pm,
      id: engagement.body.id as string,
      start: () => pm('POST', `/engagements/${engagement.body.id}/transition`, plan),
    };
  }

  it('runs the 16-week default transition to steady state with one row per phase change and gate', async () => {
    // given an engagement with good KPI data for the next six months
    const { pm, id, start } = await anEngagementInTransition();
    const t0 = await env.currentTimeMs();
    await putMeasurements(db.prisma, id, { start: dayOffset(t0, -1), end: dayOffset(t0, 180) }, GOOD);

    // when the program manager starts the default transition and it runs to its end
    const wallStart = Date.now();
    const started = await start();
    expect(started.status).toBe(202);
    const result = await env.client.workflow.getHandle(transitionWorkflowId(id)).result();
    const wallMs = Date.now() - wallStart;

    // then every phase passed in order, no sooner than 112 days (16 weeks) of workflow time after the first began
    expect(result.status).toBe('COMPLETED');
    const view = (await pm('GET', `/engagements/${id}/transition`)).body;
    const phases = view.plan.phases as Array<{ startedAt: string; completedAt: string }>;
    const elapsedDays = (Date.parse(phases[phases.length - 1].completedAt) - Date.parse(phases[0].startedAt)) / DAY_MS;
    expect(elapsedDays).toBeGreaterThanOrEqual(112);
    expect(elapsedDays).toBeLessThan(113);
    expect(view.plan.phases.map((p: { name: string; status: string }) => [p.name, p.status])).toEqual([
      ['knowledge-transfer', 'PASSED'],
      ['shadowing', 'PASSED'],
      ['wave-1', 'PASSED'],
      ['wave-2', 'PASSED'],
      ['wave-3', 'PASSED'],
      ['wave-4', 'PASSED'],
      ['stabilisation', 'PASSED'],
    ]);
    const gates = view.plan.phases.flatMap(
      (p: { name: string; gateEvaluations: Array<{ attempt: number; passed: boolean }> }) =>
        p.gateEvaluations.map((g) => [p.name, g.attempt, g.passed]),
    );
    expect(gates).toEqual([
      ['wave-1', 1, true],
      ['wave-2', 1, true],
      ['wave-3', 1, true],
      ['wave-4', 1, true],
      ['stabilisation', 1, true],
    ]);
    expect(view.volumeChanges.map((v: { fromPct: number; toPct: number }) => [v.fromPct, v.toPct])).toEqual([
      [0, 10],
      [10, 25],
      [25, 50],
      [50, 100],
    ]);
    const stages = await db.prisma.stageChange.findMany({
      where: { engagementId: id },
      orderBy: { occurredAt: 'asc' },
    });
    expect(stages.map((s) => s.toStage)).toEqual(['TRANSITION', 'STEADY_STATE']);
    console.info(`16-week transition: ${Math.round(elapsedDays)} days of workflow time in ${wallMs} ms of wall time`);
  });

  it('holds a failing wave, re-evaluates it, escalates and rolls back after the configured failures', async () => {
    // given three one-week waves, a 3-day hold, escalation (with rollback) at the second failure
    const { pm, id, start } = await anEngagementInTransition({
      phases: [
        { kind: 'PILOT', name: 'wave-1', volumePct: 10, minDuration: '7d' },
        { kind: 'RAMP_WAVE', name: 'wave-2', volumePct: 25, minDuration: '7d' },
        { kind: 'RAMP_WAVE', name: 'wave-3', volumePct: 100, minDuration: '7d' },
      ],
      hold: '3d',
      maxConsecutiveFailures: 2,
      rollbackOnEscalation: true,
    });
    const t0 = await env.currentTimeMs();
    // good data while wave 1 runs (to day 7, when wave 2 starts), first-call resolution below its minimum from day 8
    await putMeasurements(db.prisma, id, { start: dayOffset(t0, 0), end: dayOffset(t0, 7) }, GOOD);
    await putMeasurements(db.prisma, id, { start: dayOffset(t0, 8), end: dayOffset(t0, 40) }, BAD);

    // when the transition runs 18 days
    await start();
    await env.sleep('18 days');

    // then wave 2 failed twice, is held, one escalation was raised and volume rolled back to wave 1
    const held = (await pm('GET', `/engagements/${id}/transition`)).body;
    const wave2 = held.plan.phases.find((p: { name: string }) => p.name === 'wave-2');
    expect(wave2.status).toBe('HELD');
    expect(wave2.gateEvaluations.map((g: { passed: boolean }) => g.passed)).toEqual([false, false]);
    // (its first day, 7, at 80; days 8 to 14 at 60)
    expect(wave2.gateEvaluations[0].details.reasons[0]).toBe('fcr: 62.5 is worse than the minimum 70');
    expect(held.live.volumePct).toBe(10);
    expect(held.live.history.map((h: { kind: string }) => h.kind)).toEqual([
      'held',
      'held',
      'escalated',
      'rolled-back',
    ]);
    const escalations = (await pm('GET', `/engagements/${id}/escalations`)).body.items;
    expect(escalations.map((e: { category: string; severity: string }) => [e.category, e.severity])).toEqual([
      ['transition-gate', 'P2'],
    ]);

    // when the vendor corrects the data, the next re-evaluation passes and volume returns
    await putMeasurements(db.prisma, id, { start: dayOffset(t0, 8), end: dayOffset(t0, 40) }, GOOD);
    const result = await env.client.workflow.getHandle(transitionWorkflowId(id)).result();
    expect(result.status).toBe('COMPLETED');
    const done = (await pm('GET', `/engagements/${id}/transition`)).body;
    expect(done.volumeChanges.map((v: { fromPct: number; toPct: number }) => [v.fromPct, v.toPct])).toEqual([
      [0, 10],
      [10, 25],
      [25, 10],
      [10, 25],
      [25, 100],
    ]);
    expect(done.plan.phases[1].gateEvaluations.map((g: { passed: boolean }) => g.passed)).toEqual([false, false, true]);
    expect((await pm('GET', `/engagements/${id}/escalations`)).body.total).toBe(1);
  });

  it('started again after it was terminated, resumes where its stored phases stand', async () => {
    // given a transition whose first wave failed its gate on day 8 and is held, and was then terminated
    const { pm, id, start } = await anEngagementInTransition({
      phases: [
        { kind: 'KNOWLEDGE_TRANSFER', name: 'knowledge-transfer', volumePct: 0, minDuration: '1d', gated: false },
        { kind: 'PILOT', name: 'wave-1', volumePct: 10, minDuration: '7d' },
        { kind: 'RAMP_WAVE', name: 'wave-2', volumePct: 100, minDuration: '7d' },
      ],
      hold: '3d',
      maxConsecutiveFailures: 3,
    });
    const t0 = await env.currentTimeMs();
    await putMeasurements(db.prisma, id, { start: dayOffset(t0, -1), end: dayOffset(t0, 40) }, BAD);
    expect((await start()).status).toBe(202);
    const handle = env.client.workflow.getHandle(transitionWorkflowId(id));
    await env.sleep('9 days');
    const first = (await pm('GET', `/engagements/${id}/transition`)).body;
    expect(first.plan.phases.map((p: { status: string }) => p.status)).toEqual(['PASSED', 'HELD', 'PENDING']);
    const wave1StartedAt = first.plan.phases[1].startedAt;
    const failedAt = Date.parse(first.plan.phases[1].gateEvaluations[0].evaluatedAt);
    await handle.terminate('operator stopped it');
    // which reads as terminated, not as the running (held) transition its last state was
    const stopped = (await pm('GET', `/engagements/${id}/transition`)).body;
    expect(stopped.live).toMatchObject({ status: 'TERMINATED', nextGateAt: null });

    // when the vendor corrects its data and the program manager starts the transition again
    await putMeasurements(db.prisma, id, { start: dayOffset(t0, -1), end: dayOffset(t0, 40) }, GOOD);
    const again = await start();
    expect(again.status).toBe(202);
    const result = await handle.result();

    // then it took up wave 1 where it stood: the same start, its gate judged again (attempt 2, on today's data) when
    // the hold after the first failure ended, not after running knowledge transfer and the wave's week again
    expect(result.status).toBe('COMPLETED');
    const done = (await pm('GET', `/engagements/${id}/transition`)).body;
    const [kt, wave1, wave2] = done.plan.phases;
    expect([kt.status, wave1.status, wave2.status]).toEqual(['PASSED', 'PASSED', 'PASSED']);
    expect(kt.startedAt).toBe(first.plan.phases[0].startedAt);
    expect(wave1.startedAt).toBe(wave1StartedAt);
    expect(wave1.gateEvaluations.map((g: { attempt: number; passed: boolean }) => [g.attempt, g.passed])).toEqual([
      [1, false],
      [2, true],
    ]);
    const rejudgedAfterDays = (Date.parse(wave1.gateEvaluations[1].evaluatedAt) - failedAt) / DAY_MS;
    expect(rejudgedAfterDays).toBeGreaterThanOrEqual(3);
    expect(rejudgedAfterDays).toBeLessThan(3.01);
    // one volume change per phase start, none repeated; the resumed run's history says it started again
    expect(done.volumeChanges.map((v: { fromPct: number; toPct: number }) => [v.fromPct, v.toPct])).toEqual([
      [0, 10],
      [10, 100],
    ]);
    expect(result.history.map((h: { kind: string }) => h.kind)).toEqual(['resumed']);
    expect(
      result.gates.map((g: { phase: string; attempt: number; passed: boolean }) => [g.phase, g.attempt, g.passed]),
    ).toEqual([
      ['wave-1', 1, false],
      ['wave-1', 2, true],
      ['wave-2', 1, true],
    ]);
    await recordHistoryIfAsked(handle, 'transition-terminated-then-resumed-local-steps');
  });

  describe('started again, acts on what the run before stored but did not act on', () => {
    /** A transition whose first wave began 8 days ago, with `gates` stored for it, its run stopped. */
    async function stoppedInWave1(gates: Array<{ passed: boolean; overriddenBy?: string }>) {
      const t = await anEngagementInTransition(TWO_WAVES);
      const t0 = await env.currentTimeMs();
      await putMeasurements(db.prisma, t.id, { start: dayOffset(t0, -10), end: dayOffset(t0, 40) }, BAD);
      expect((await t.start()).status).toBe(202);
      const handle = env.client.workflow.getHandle(transitionWorkflowId(t.id));
      // once its first phase has started (nothing of the run's own left to write)
      await env.sleep('1 hour');
      await handle.terminate('stopped to be started again');
      const wave1 = await db.prisma.transitionPhase.findFirstOrThrow({
        where: { plan: { engagementId: t.id }, sequence: 1 },
      });
      const startedAt = new Date(t0 - 8 * DAY_MS);
      await db.prisma.transitionPhase.update({ where: { id: wave1.id }, data: { status: 'HELD', startedAt } });
      await db.prisma.volumeChange.updateMany({ where: { engagementId: t.id }, data: { occurredAt: startedAt } });
      for (const [i, g] of gates.entries()) {
        await db.prisma.gateEvaluation.create({
          data: {
            phaseId: wave1.id,
            attempt: i + 1,
            passed: g.passed,
            details: g.overriddenBy
              ? { decision: 'overridden', note: 'client accepts the risk' }
              : {
                  passed: false,
                  score: 80,
                  threshold: 95,
                  reasons: ['fcr: 60 is worse than the minimum 70'],
                  kpis: [],
                },
            overriddenBy: g.overriddenBy,
            overrideReason: g.overriddenBy ? 'client accepts the risk' : undefined,
            evaluatedAt: new Date(t0 - (gates.length - i) * 3_600_000),
          },
        });
      }
      return { ...t, handle };
    }

    it('an override stored before its phase was completed passes the phase at once', async () => {
      const { pm, id, start, handle } = await stoppedInWave1([
        { passed: false },
        { passed: true, overriddenBy: 'pm:ana' },
      ]);
      expect((await start()).status).toBe(202);
      await env.sleep('1 hour');
      const view = (await pm('GET', `/engagements/${id}/transition`)).body;
      // the override stands: wave 1 is OVERRIDDEN and wave 2 runs (it used to judge wave 1 again, and hold it)
      expect(view.plan.phases.map((p: { status: string }) => p.status)).toEqual(['OVERRIDDEN', 'ACTIVE']);
      expect(view.plan.phases[0].gateEvaluations).toHaveLength(2);
      await handle.terminate('test over');
    });

    it('failures enough to escalate, stored before the escalation, escalate and roll back at once', async () => {
      const { pm, id, start, handle } = await stoppedInWave1([{ passed: false }, { passed: false }]);
      expect((await start()).status).toBe(202);
      await env.sleep('1 hour');
      // one escalation and the volume back to none (it used to count on to a third failure, never equal to two)
      const escalations = (await pm('GET', `/engagements/${id}/escalations`)).body.items;
      expect(escalations.map((e: { category: string }) => e.category)).toEqual(['transition-gate']);
      const view = (await pm('GET', `/engagements/${id}/transition`)).body;
      expect(view.live.volumePct).toBe(0);
      expect(view.volumeChanges.map((v: { fromPct: number; toPct: number }) => [v.fromPct, v.toPct])).toEqual([
        [0, 10],
        [10, 0],
      ]);
      await handle.terminate('test over');
    });

    /** A transition paused a day into its first wave, its run then stopped. */
    async function pausedThenStopped() {
      const t = await anEngagementInTransition(TWO_WAVES);
      expect((await t.start()).status).toBe(202);
      await env.sleep('1 day');
      expect((await t.pm('POST', `/engagements/${t.id}/transition/pause`, { reason: 'vendor strike' })).status).toBe(
        200,
      );
      const handle = env.client.workflow.getHandle(transitionWorkflowId(t.id));
      await handle.terminate('stopped to be started again');
      return { t, handle };
    }

    it('a pause not resumed stays: the transition is started again paused', async () => {
      const { t, handle } = await pausedThenStopped();
      expect((await t.start()).status).toBe(202);
      await env.sleep('10 days');
      const view = (await t.pm('GET', `/engagements/${t.id}/transition`)).body;
      // still paused, its gate not judged though wave 1's week has passed (the pause used to be lifted)
      expect(view.live).toMatchObject({ status: 'PAUSED', nextGateAt: null });
      expect(view.plan.phases[0].gateEvaluations).toEqual([]);
      await handle.terminate('test over');
    });

    it('a pause holding the next wave stays: the wave does not start', async () => {
      // given a transition paused once its first wave's gate had passed, the second wave not begun, its run stopped
      const { t, handle } = await pausedThenStopped();
      const phases = await db.prisma.transitionPhase.findMany({
        where: { plan: { engagementId: t.id } },
        orderBy: { sequence: 'asc' },
      });
      await db.prisma.transitionPhase.update({
        where: { id: phases[0].id },
        data: { status: 'PASSED', completedAt: new Date(await env.currentTimeMs()) },
      });
      expect(phases.slice(1).map((p) => p.status)).toEqual(['PENDING']);

      // when it is started again, ten days pass
      expect((await t.start()).status).toBe(202);
      await env.sleep('10 days');

      // then it is still paused before the second wave, whose volume did not move (it used to ramp on)
      const view = (await t.pm('GET', `/engagements/${t.id}/transition`)).body;
      expect(view.live).toMatchObject({ status: 'PAUSED', nextGateAt: null });
      expect(view.plan.phases.map((p: { status: string }) => p.status)).toEqual(['PASSED', 'PENDING']);
      expect(view.volumeChanges).toHaveLength(1);
      await handle.terminate('test over');
    });

    it('a transition cancelled by a termination for cause does not run again', async () => {
      const t = await anEngagementInTransition(TWO_WAVES);
      expect((await t.start()).status).toBe(202);
      const handle = env.client.workflow.getHandle(transitionWorkflowId(t.id));
      await env.sleep('1 day');
      await handle.terminate('stopped');
      await db.prisma.transitionPhase.updateMany({
        where: { plan: { engagementId: t.id }, status: { in: ['PENDING', 'ACTIVE', 'HELD'] } },
        data: { status: 'CANCELLED' },
      });
      await db.prisma.engagement.update({ where: { id: t.id }, data: { stage: 'TRANSITION' } });
      const changesBefore = await db.prisma.stageChange.count({ where: { engagementId: t.id } });
      expect((await t.start()).status).toBe(202);
      const result = await handle.result();
      expect(result.status).toBe('CANCELLED');
      expect(await db.prisma.stageChange.count({ where: { engagementId: t.id } })).toBe(changesBefore);
      expect(await db.prisma.volumeChange.count({ where: { engagementId: t.id } })).toBe(1);
    });
  });

  it('rolls a first wave that keeps failing back to no volume with the vendor', async () => {
    // given a first wave whose KPIs fail from the start, escalation (with rollback) at the second failure
    const { pm, id, start } = await anEngagementInTransition(TWO_WAVES);
    const t0 = await env.currentTimeMs();
    await putMeasurements(db.prisma, id, { start: dayOffset(t0, 0), end: dayOffset(t0, 40) }, BAD);

    // when the transition runs 11 days: the gate fails on day 7 and again on day 10
    await start();
    await env.sleep('11 days');

    // then the volume went back to the client (there is no wave before the first to go back to)
    const held = (await pm('GET', `/engagements/${id}/transition`)).body;
    expect(held.live.volumePct).toBe(0);
    expect(held.live.history.map((h: { kind: string }) => h.kind)).toEqual([
      'held',
      'held',
      'escalated',
      'rolled-back',
    ]);
    expect(held.volumeChanges.map((v: { fromPct: number; toPct: number }) => [v.fromPct, v.toPct])).toEqual([
      [0, 10],
      [10, 0],
    ]);
    await env.client.workflow.getHandle(transitionWorkflowId(id)).terminate('test over');
  });

  it('treats a missing measurement as a failed gate', async () => {
    // given a single gated wave and no KPI data at all
    const { pm, id, start } = await anEngagementInTransition({
      phases: [{ kind: 'RAMP_WAVE', name: 'wave-1', volumePct: 100, minDuration: '7d' }],
      hold: '7d',
      maxConsecutiveFailures: 5,
    });
    await start();
    await env.sleep('8 days');
    const view = (await pm('GET', `/engagements/${id}/transition`)).body;
    expect(view.plan.phases[0].status).toBe('HELD');
    expect(view.plan.phases[0].gateEvaluations[0].details.reasons).toContain('fcr: no measurement in the gate window');
    await env.client.workflow.getHandle(transitionWorkflowId(id)).terminate('test over');
  });
});
