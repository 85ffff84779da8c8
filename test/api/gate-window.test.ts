import { createTransitionActivities } from '../../activities/transition';
import { anEngagement, aSla, aVendor } from '../builders/engagement';
import { startApiFixture } from '../helpers/api-fixture';
import { putMeasurements } from '../helpers/kpi-data';

/** A gate judges the days of its phase in the engagement's time zone, the zone its KPI periods are dated in. */
describe('the window a transition gate judges', () => {
  let f: Awaited<ReturnType<typeof startApiFixture>>;
  beforeAll(async () => {
    f = await startApiFixture();
  });
  afterAll(() => f.close());

  /** An engagement with one phase running since `startedAt`, its fcr KPI measured by `measurementPeriod`. */
  async function aPhaseStarted(startedAt: string, engagement: Record<string, unknown>, sla: Record<string, unknown>) {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm(
      'POST',
      '/engagements',
      anEngagement(vendorId, { ...engagement, slas: [aSla({ creditTiers: [], ...sla })] }),
    );
    await f.db.prisma.transitionPlan.create({
      data: {
        engagementId: e.id,
        gateThreshold: 95,
        holdSeconds: 3600,
        maxConsecutiveFailures: 3,
        phases: {
          create: [
            {
              sequence: 1,
              kind: 'PILOT',
              name: 'wave-1',
              volumePct: 50,
              minDurationSeconds: 6 * 86_400,
              status: 'ACTIVE',
              startedAt: new Date(startedAt),
            },
          ],
        },
      },
    });
    return e.id as string;
  }

  const judge = (engagementId: string, windowStart: string, evaluatedAt: string) =>
    createTransitionActivities(f.db.prisma).evaluateGate({
      engagementId,
      sequence: 1,
      attempt: 1,
      windowStart,
      evaluatedAt,
      threshold: 95,
    });

  it("starts on the phase's first day in the engagement's zone, leaving out the wave before's last day", async () => {
    // given a phase in Tokyo that started at 16:00 UTC on 1 March, 01:00 on 2 March there
    const id = await aPhaseStarted('2026-03-01T16:00:00Z', { timeZone: 'Asia/Tokyo' }, {});
    const e = { id };
    // the wave before ended badly on 1 March; this one has run at 76 (target 75, minimum 70) since 2 March
    await putMeasurements(f.db.prisma, e.id, { start: '2026-03-01', end: '2026-03-01' }, { fcr: 0 });
    await putMeasurements(f.db.prisma, e.id, { start: '2026-03-02', end: '2026-03-08' }, { fcr: 76 });

    // when its gate is judged on 8 March
    const verdict = await judge(e.id, '2026-03-01T16:00:00.000Z', '2026-03-08T12:00:00.000Z');

    // then only the phase's own days count: 76, met (counted from 1 March in UTC it was 66.5, breached)
    expect(verdict.kpis.map((k) => [k.key, k.value, k.status])).toEqual([['fcr', 76, 'met']]);
    expect(verdict.passed).toBe(true);
  });

  it('holds a wave whose weekly figures leave days of its finished weeks out, and judges it once they are all in', async () => {
    // given a phase from Wednesday 7 October, judged on Tuesday 20 October (UTC): weeks 5–11 and 12–18 have ended
    const id = await aPhaseStarted('2026-10-07T09:00:00Z', { timeZone: 'UTC' }, { measurementPeriod: 'WEEKLY' });
    // the vendor sent two excellent days only
    await putMeasurements(f.db.prisma, id, { start: '2026-10-17', end: '2026-10-18' }, { fcr: 90 });

    // then the gate does not pass on them (it used to: 90 on two days of a fortnight), and says why
    const held = await judge(id, '2026-10-07T09:00:00.000Z', '2026-10-20T09:00:00.000Z');
    expect(held.passed).toBe(false);
    expect(held.kpis.map((k) => [k.key, k.value, k.status])).toEqual([['fcr', null, 'missing']]);
    expect(held.reasons[0]).toBe(
      "fcr: figures cover 2 of the gate window's 14 days; every finished period must be reported",
    );
    expect((await f.db.prisma.transitionPhase.findFirstOrThrow({ where: { plan: { engagementId: id } } })).status).toBe(
      'HELD',
    );

    // when both finished weeks are in (the running week's figure cannot be yet), the next attempt judges them
    await putMeasurements(f.db.prisma, id, { start: '2026-10-05', end: '2026-10-11' }, { fcr: 74 });
    await putMeasurements(f.db.prisma, id, { start: '2026-10-12', end: '2026-10-18' }, { fcr: 76 });
    const judged = await createTransitionActivities(f.db.prisma).evaluateGate({
      engagementId: id,
      sequence: 1,
      attempt: 2,
      windowStart: '2026-10-07T09:00:00.000Z',
      evaluatedAt: '2026-10-21T09:00:00.000Z',
      threshold: 95,
    });
    // 5 days at 74 (7–11 October) and 7 at 76, the two-day figure replaced by its week's: 75.1667, met
    expect(judged.kpis.map((k) => [k.key, k.value, k.status])).toEqual([['fcr', 75.1667, 'met']]);
    expect(judged.passed).toBe(true);
  });

  it('leaves a phase cancelled while its gate was judged or its start recorded as it is (a termination for cause)', async () => {
    const id = await aPhaseStarted('2026-10-07T09:00:00Z', { timeZone: 'UTC' }, {});
    await f.db.prisma.transitionPhase.updateMany({
      where: { plan: { engagementId: id } },
      data: { status: 'CANCELLED', startedAt: null },
    });
    const activities = createTransitionActivities(f.db.prisma);

    // a failing judgement, a start and a completion that land after the cancellation
    expect((await judge(id, '2026-10-07T09:00:00.000Z', '2026-10-20T09:00:00.000Z')).passed).toBe(false);
    await activities.startPhase({
      engagementId: id,
      sequence: 1,
      startedAt: '2026-10-07T09:00:00.000Z',
      volumeFrom: 0,
      volumeTo: 50,
    });
    await activities.completePhase({
      engagementId: id,
      sequence: 1,
      status: 'PASSED',
      completedAt: '2026-10-21T09:00:00.000Z',
    });

    // then the phase is still cancelled (it used to turn HELD, ACTIVE or PASSED again) and volume did not move
    const phase = await f.db.prisma.transitionPhase.findFirstOrThrow({ where: { plan: { engagementId: id } } });
    expect(phase).toMatchObject({ status: 'CANCELLED', startedAt: null, completedAt: null });
    expect(await f.db.prisma.volumeChange.count({ where: { engagementId: id } })).toBe(0);
  });
});
