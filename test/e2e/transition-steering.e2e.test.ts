import { transitionWorkflowId } from '../../workflows/transition.messages';
import { anEngagement, aVendor } from '../builders/engagement';
import { startDevStack, type DevStack } from '../helpers/dev-worker';
import { BAD, dayOffset, GOOD, putMeasurements } from '../helpers/kpi-data';
import { eventually } from '../helpers/wait';

/**
 * Steering updates on the dev server (update results do not skip time on the time-skipping server), with short
 * durations written in each engagement's own plan.
 */
describe('steering a transition through the API (dev server)', () => {
  let s: DevStack;
  beforeAll(async () => {
    s = await startDevStack('transition-steering');
  });
  afterAll(() => s.close());

  async function aRunningTransition(plan: Record<string, unknown>, data: Record<string, number> = GOOD) {
    const pm = await s.api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendor.body.id));
    await putMeasurements(
      s.db.prisma,
      e.id,
      { start: dayOffset(Date.now(), -1), end: dayOffset(Date.now(), 30) },
      data,
    );
    expect((await pm('POST', `/engagements/${e.id}/transition`, plan)).status).toBe(202);
    const live = () => pm('GET', `/engagements/${e.id}/transition`).then((r) => r.body.live);
    const result = () => s.env.client.workflow.getHandle(transitionWorkflowId(e.id)).result();
    return { pm, id: e.id as string, live, result };
  }

  it('approves a gate early: the phase completes before its minimum duration, recorded and audited', async () => {
    const t = await aRunningTransition({
      phases: [
        { kind: 'PILOT', name: 'wave-1', volumePct: 10, minDuration: '1h' },
        { kind: 'RAMP_WAVE', name: 'wave-2', volumePct: 100, minDuration: '1h' },
      ],
    });
    await eventually(t.live, (l) => l?.phases[0].status === 'ACTIVE');

    const approved = await t.pm('POST', `/engagements/${t.id}/transition/approve-gate`, {
      note: 'pilot quality proven early',
      phase: 'wave-1',
    });

    expect(approved.status).toBe(200);
    // the same request again (a double click, a retry) names a phase that is no longer current: refused
    const repeat = await t.pm('POST', `/engagements/${t.id}/transition/approve-gate`, { phase: 'wave-1' });
    expect(repeat.status).toBe(409);
    expect(repeat.body.detail).toBe('the current phase is wave-2, not wave-1');
    expect(approved.body.phases[0].status).toBe('PASSED');
    expect(approved.body.gates[0]).toMatchObject({
      phase: 'wave-1',
      decision: 'approved-early',
      note: 'pilot quality proven early',
    });
    await eventually(t.live, (l) => l?.phases[1].status === 'ACTIVE');
    expect((await t.pm('POST', `/engagements/${t.id}/transition/approve-gate`, {})).status).toBe(200);
    expect((await t.result()).status).toBe('COMPLETED');
    const audit = await s.db.prisma.auditLog.findMany({ where: { action: 'transition.gate.approved-early' } });
    expect(audit.map((a) => a.actor)).toEqual([
      'program_manager:test-program_manager',
      'program_manager:test-program_manager',
    ]);
  });

  it('overrides a held gate only with a reason, and records who and why', async () => {
    const t = await aRunningTransition(
      {
        phases: [{ kind: 'RAMP_WAVE', name: 'wave-1', volumePct: 100, minDuration: '1s' }],
        hold: '1h',
        maxConsecutiveFailures: 9,
      },
      BAD,
    );
    await eventually(t.live, (l) => l?.phases[0].status === 'HELD');

    // a failed gate is not approved as if it had not been judged: it takes an override, with a reason
    const approve = await t.pm('POST', `/engagements/${t.id}/transition/approve-gate`, {});
    expect(approve.status).toBe(409);
    expect(approve.body.detail).toBe('the gate failed and holds the phase: override it, with a reason');

    const noReason = await t.pm('POST', `/engagements/${t.id}/transition/override-gate`, {});
    expect(noReason.status).toBe(400);
    expect(noReason.body.invalidFields[0].field).toBe('body.reason');

    const overridden = await t.pm('POST', `/engagements/${t.id}/transition/override-gate`, {
      reason: 'FCR dip caused by client outage',
    });
    expect(overridden.status).toBe(200);
    expect(overridden.body.phases[0].status).toBe('OVERRIDDEN');
    expect((await t.result()).status).toBe('COMPLETED');
    const gate = await s.db.prisma.gateEvaluation.findFirstOrThrow({
      where: { attempt: 2, phase: { plan: { engagementId: t.id } } },
    });
    expect(gate).toMatchObject({
      passed: true,
      overriddenBy: 'program_manager:test-program_manager',
      overrideReason: 'FCR dip caused by client outage',
    });
  });

  it('does not count paused time towards the minimum duration', async () => {
    const t = await aRunningTransition({
      phases: [{ kind: 'RAMP_WAVE', name: 'wave-1', volumePct: 100, minDuration: '2s' }],
    });
    const active = await eventually(t.live, (l) => l?.phases[0].status === 'ACTIVE');
    const dueBefore = Date.parse(active.phases[0].dueAt);

    const paused = await t.pm('POST', `/engagements/${t.id}/transition/pause`, { reason: 'client holiday freeze' });
    expect(paused.body).toMatchObject({ status: 'PAUSED', nextGateAt: null });
    // The pause must outlast the phase's remaining minimum duration: this wait is the behaviour under test.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await t.live()).gates).toEqual([]);

    const resumed = await t.pm('POST', `/engagements/${t.id}/transition/resume`, {});
    expect(resumed.body.status).toBe('RUNNING');
    const pausedMs = Date.parse(resumed.body.history[1].at) - Date.parse(resumed.body.history[0].at);
    expect(Date.parse(resumed.body.phases[0].dueAt) - dueBefore).toBe(pausedMs);

    const done = await t.result();
    const phase = done.phases[0];
    expect(Date.parse(phase.completedAt!) - Date.parse(phase.startedAt!)).toBeGreaterThanOrEqual(2000 + pausedMs);
  });

  it('rejects illegal requests with 409 and the reason, changing nothing', async () => {
    const t = await aRunningTransition(
      { phases: [{ kind: 'RAMP_WAVE', name: 'wave-1', volumePct: 100, minDuration: '1h' }] },
      GOOD,
    );
    const before = await eventually(t.live, (l) => l?.phases[0].status === 'ACTIVE');

    const resume = await t.pm('POST', `/engagements/${t.id}/transition/resume`, {});
    const override = await t.pm('POST', `/engagements/${t.id}/transition/override-gate`, {
      reason: 'no reason really',
    });
    // a plan that clashes with the running one: its new phase is named as the current phase
    const badPlan = await t.pm('PUT', `/engagements/${t.id}/transition/plan`, {
      phases: [{ kind: 'RAMP_WAVE', name: 'wave-1', volumePct: 100, minDuration: '1d' }],
    });
    // a plan wrong on its own is a 400 naming each phase and field at fault, and never reaches the workflow
    const unsound = await t.pm('PUT', `/engagements/${t.id}/transition/plan`, {
      phases: [
        { kind: 'RAMP_WAVE', name: 'wave-2', volumePct: 100, minDuration: '1d' },
        { kind: 'RAMP_WAVE', name: 'wave-2', volumePct: 50, minDuration: '1d' },
      ],
    });
    expect([unsound.status, unsound.body.invalidFields]).toEqual([
      400,
      [
        { field: 'body.phases.1.name', reason: 'repeats the name of phase 1' },
        { field: 'body.phases.1.volumePct', reason: 'must not be below the phase before' },
        { field: 'body.phases.1.volumePct', reason: 'the last phase must carry 100%' },
      ],
    ]);
    await t.pm('POST', `/engagements/${t.id}/transition/pause`, {});
    const approveWhilePaused = await t.pm('POST', `/engagements/${t.id}/transition/approve-gate`, {});
    const pauseTwice = await t.pm('POST', `/engagements/${t.id}/transition/pause`, {});

    expect([resume, override, badPlan, approveWhilePaused, pauseTwice].map((r) => [r.status, r.body.detail])).toEqual([
      [409, 'the transition is not paused'],
      [409, 'only a failed (held) gate can be overridden'],
      [409, 'the new plan is not sound: phase names must be unique'],
      [409, 'the transition is paused: resume it first'],
      [409, 'cannot pause a transition that is paused'],
    ]);
    const after = await t.live();
    expect({ ...after, status: 'RUNNING', nextGateAt: before.nextGateAt, pausedAt: undefined, history: [] }).toEqual({
      ...before,
      history: [],
    });
    await s.env.client.workflow.getHandle(transitionWorkflowId(t.id)).terminate('test over');
  });

  it('refuses, under a running lifecycle, a new plan that could not end before the renewal notice deadline', async () => {
    // given a lifecycle in transition whose notice deadline is about 60 days away
    const pm = await s.api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const { body: e } = await pm(
      'POST',
      '/engagements',
      anEngagement(vendor.body.id, {
        termStart: dayOffset(Date.now(), -1),
        termEnd: dayOffset(Date.now(), 150),
        renewalNoticeDays: 90,
      }),
    );
    const plan = {
      phases: [
        { kind: 'PILOT', name: 'wave-1', volumePct: 50, minDuration: '1h' },
        { kind: 'RAMP_WAVE', name: 'wave-2', volumePct: 100, minDuration: '1h' },
      ],
    };
    expect((await pm('POST', `/engagements/${e.id}/lifecycle`, plan)).status).toBe(202);
    await eventually(
      () => pm('GET', `/engagements/${e.id}/transition`).then((r) => r.body.live),
      (l) => l?.phases[0].status === 'ACTIVE',
    );

    // when the phases after the current one are replaced by one of 90 days, then by one of 30
    const tooLong = await pm('PUT', `/engagements/${e.id}/transition/plan`, {
      phases: [{ kind: 'RAMP_WAVE', name: 'wave-2b', volumePct: 100, minDuration: '90d' }],
    });
    const inTime = await pm('PUT', `/engagements/${e.id}/transition/plan`, {
      phases: [{ kind: 'RAMP_WAVE', name: 'wave-2b', volumePct: 100, minDuration: '30d' }],
    });

    // then the first is refused with both dates, and the second is taken
    expect(tooLong.status).toBe(409);
    expect(tooLong.body.detail).toMatch(
      /^the new plan runs until \d{4}-\d{2}-\d{2} at the earliest, past the renewal notice deadline \d{4}-\d{2}-\d{2}/,
    );
    expect(inTime.status).toBe(200);
    expect(inTime.body.phases.map((p: { name: string }) => p.name)).toEqual(['wave-1', 'wave-2b']);
    await s.env.client.workflow.getHandle(`engagement-${e.id}-lifecycle`).terminate('test over');
  });

  it('refuses to start a transition for an engagement without SLAs, or twice after it finished', async () => {
    const pm = await s.api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const { body: bare } = await pm('POST', '/engagements', anEngagement(vendor.body.id, { slas: [] }));
    const refused = await pm('POST', `/engagements/${bare.id}/transition`, {});
    expect([refused.status, refused.body.detail]).toEqual([
      409,
      'engagement has no SLAs: transition gates would have nothing to judge',
    ]);
    expect(await s.db.prisma.transitionPlan.count({ where: { engagementId: bare.id } })).toBe(0);

    const t = await aRunningTransition({
      phases: [{ kind: 'RAMP_WAVE', name: 'wave-1', volumePct: 100, minDuration: '1s' }],
    });
    await t.result();
    const again = await t.pm('POST', `/engagements/${t.id}/transition`, {});
    expect([again.status, again.body.detail]).toEqual([409, 'the transition is already complete']);
  });
});
