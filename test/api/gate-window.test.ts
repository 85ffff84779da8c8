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

  it("starts on the phase's first day in the engagement's zone, leaving out the wave before's last day", async () => {
    // given a phase in Tokyo that started at 16:00 UTC on 1 March, 01:00 on 2 March there
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm(
      'POST',
      '/engagements',
      anEngagement(vendorId, { timeZone: 'Asia/Tokyo', slas: [aSla({ creditTiers: [] })] }),
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
              startedAt: new Date('2026-03-01T16:00:00Z'),
            },
          ],
        },
      },
    });
    // the wave before ended badly on 1 March; this one has run at 76 (target 75, minimum 70) since 2 March
    await putMeasurements(f.db.prisma, e.id, { start: '2026-03-01', end: '2026-03-01' }, { fcr: 0 });
    await putMeasurements(f.db.prisma, e.id, { start: '2026-03-02', end: '2026-03-08' }, { fcr: 76 });

    // when its gate is judged on 8 March
    const verdict = await createTransitionActivities(f.db.prisma).evaluateGate({
      engagementId: e.id,
      sequence: 1,
      attempt: 1,
      windowStart: '2026-03-01T16:00:00.000Z',
      evaluatedAt: '2026-03-08T12:00:00.000Z',
      threshold: 95,
    });

    // then only the phase's own days count: 76, met (counted from 1 March in UTC it was 66.5, breached)
    expect(verdict.kpis.map((k) => [k.key, k.value, k.status])).toEqual([['fcr', 76, 'met']]);
    expect(verdict.passed).toBe(true);
  });
});
