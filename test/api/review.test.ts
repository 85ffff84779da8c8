import { createGovernanceActivities } from '../../activities/governance';
import { firstPeriodFrom, serviceShareOf } from '../../src/domain/calendar';
import { anEngagement, aSla, aVendor } from '../builders/engagement';
import { startApiFixture } from '../helpers/api-fixture';
import { putMeasurements } from '../helpers/kpi-data';

type Fixture = Awaited<ReturnType<typeof startApiFixture>>;
const round4 = (n: number) => Math.round(n * 10_000) / 10_000;

/** The review activity against a real PostgreSQL: scorecard, credits with arithmetic, action items, once per period. */
describe('conducting a review', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startApiFixture();
  });
  afterAll(() => f.close());

  /** An engagement at USD 100,000 a month, 10 % of it at risk. */
  async function anEngagementOf100k() {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm(
      'POST',
      '/engagements',
      anEngagement(vendorId, { monthlyFee: '100000.00', atRiskPct: 10 }),
    );
    return { pm, e };
  }

  /** An engagement with the builder's monthly SLAs and a weekly average speed of answer (target 20 s, minimum 30 s). */
  async function anEngagementWithWeeklyAsa(overrides: Record<string, unknown> = {}) {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const asa = aSla({
      key: 'asa',
      unit: 's',
      direction: 'LOWER_IS_BETTER',
      target: 20,
      minimum: 30,
      measurementPeriod: 'WEEKLY',
      mandatoryForGates: false,
      creditTiers: [],
    });
    const builder = anEngagement(vendorId, overrides);
    const { body: e } = await pm('POST', '/engagements', { ...builder, slas: [...builder.slas, asa] });
    return { pm, e };
  }

  /** ASA at its target for the weeks (Monday to Sunday) starting on `mondays`. */
  async function putWeeklyAsa(engagementId: string, mondays: string[]) {
    for (const monday of mondays) {
      const sunday = new Date(Date.parse(monday) + 6 * 86_400_000).toISOString().slice(0, 10);
      await putMeasurements(f.db.prisma, engagementId, { start: monday, end: sunday }, { asa: 20 });
    }
  }

  const reviewOctober2025 = (engagementId: string) =>
    createGovernanceActivities(f.db.prisma).conductReview({
      engagementId,
      period: firstPeriodFrom('MONTHLY', Date.parse('2025-10-01T00:00:00Z'), 'UTC'),
      timeZone: 'UTC',
    });

  it('scores the month, computes capped credits, creates action items for breaches, and stores it once', async () => {
    // given October data: FCR below its minimum, AHT at target; and September data for the trend
    const { pm, e } = await anEngagementOf100k();
    await putMeasurements(f.db.prisma, e.id, { start: '2026-09-01', end: '2026-09-30' }, { fcr: 72, aht: 350 });
    await putMeasurements(f.db.prisma, e.id, { start: '2026-10-01', end: '2026-10-31' }, { fcr: 65, aht: 360 });
    const { conductReview } = createGovernanceActivities(f.db.prisma);
    const september = firstPeriodFrom('MONTHLY', Date.parse('2026-09-01T00:00:00Z'), 'UTC');
    const october = firstPeriodFrom('MONTHLY', Date.parse('2026-10-01T00:00:00Z'), 'UTC');

    // when both months are reviewed, October twice
    await conductReview({ engagementId: e.id, period: september, timeZone: 'UTC' });
    const outcome = await conductReview({ engagementId: e.id, period: october, timeZone: 'UTC' });
    const again = await conductReview({ engagementId: e.id, period: october, timeZone: 'UTC' });

    // then October has one review: FCR breached (10 below target → the open-ended 3% tier), trend −7
    expect(again).toEqual(outcome);
    expect(outcome).toMatchObject({ periodFrom: '2026-10-01', periodTo: '2026-10-31', creditsTotal: '3000.00' });
    expect(outcome.breaches).toEqual([{ key: 'fcr', status: 'breached', value: 65, escalate: true }]);
    const reviews = (await pm('GET', `/engagements/${e.id}/reviews`)).body.items;
    expect(reviews).toHaveLength(2);
    const [oct] = reviews;
    expect(
      oct.credits.map((c: { slaKey: string; amount: string; arithmetic: string }) => [
        c.slaKey,
        c.amount,
        c.arithmetic,
      ]),
    ).toEqual([
      [
        'fcr',
        '3000',
        'fcr: shortfall 10 from target 75 → tier beyond the last bound → 3% × USD 100,000.00 = USD 3,000.00',
      ],
    ]);
    const fcr = oct.scorecard.kpis.find((k: { key: string }) => k.key === 'fcr');
    expect(fcr).toMatchObject({ value: 65, target: 75, minimum: 70, status: 'breached', trend: -7 });
    const items = (await pm('GET', `/engagements/${e.id}/action-items`)).body.items;
    expect(items.map((i: { title: string }) => i.title)).toEqual([
      'Corrective action for fcr (65 breaches its minimum)',
    ]);
  });

  it('owes a KPI allocated from the credit pool its whole allocation in a month below its minimum (Texas DIR)', async () => {
    // given DOMAIN.md's example: 10 % at risk, half of it pooled, first call resolution carrying 40 % of the pool
    // and handle time 60 %
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const builder = anEngagement(vendorId, { monthlyFee: '100000.00', atRiskPct: 10, creditPoolPct: 50 });
    const [fcrSla, ahtSla] = builder.slas;
    const created = await pm('POST', '/engagements', {
      ...builder,
      slas: [
        { ...fcrSla, creditTiers: [], creditAllocationPct: 40 },
        { ...ahtSla, creditAllocationPct: 60 },
      ],
    });
    expect(created.status).toBe(201);
    const e = created.body;
    expect([e.creditPoolPct, e.slas.map((s: { creditAllocationPct: string }) => s.creditAllocationPct)]).toEqual([
      '50',
      ['60', '40'],
    ]);
    // when October's FCR is below its minimum of 70 and AHT is worse than target but within its minimum
    await putMeasurements(f.db.prisma, e.id, { start: '2025-10-01', end: '2025-10-31' }, { fcr: 69, aht: 400 });
    const outcome = await reviewOctober2025(e.id);

    // then FCR owes 10 % × 50 % × 40 % of 100,000 = 2,000, and AHT nothing
    expect(outcome.creditsTotal).toBe('2000.00');
    const [october] = (await pm('GET', `/engagements/${e.id}/reviews`)).body.items;
    expect(
      october.credits.map((c: { slaKey: string; amount: string; arithmetic: string }) => [
        c.slaKey,
        c.amount,
        c.arithmetic,
      ]),
    ).toEqual([
      [
        'fcr',
        '2000',
        'fcr: 69 worse than minimum 70 → 10% at risk × 50% pool × 40% allocation × USD 100,000.00 = USD 2,000.00',
      ],
    ]);
  });

  it('reviews the days of a month the service ended in, its credits on the fee for those days', async () => {
    // given a service that ended at midnight UTC on 2025-10-13: October's first 12 days, FCR below its minimum
    const { pm, e } = await anEngagementOf100k();
    await putMeasurements(f.db.prisma, e.id, { start: '2025-10-01', end: '2025-10-12' }, { fcr: 65, aht: 360 });
    const october = firstPeriodFrom('MONTHLY', Date.parse('2025-10-01T00:00:00Z'), 'UTC');
    const share = serviceShareOf(october, '2025-10-13T00:00:00.000Z', 'UTC')!;

    // when that share is reviewed
    const outcome = await createGovernanceActivities(f.db.prisma).conductReview({
      engagementId: e.id,
      period: share,
      timeZone: 'UTC',
    });

    // then the review covers the 12 days, all measured, and FCR owes its tier on 12/31 of the fee
    expect(outcome).toMatchObject({ periodFrom: '2025-10-01', periodTo: '2025-10-12', creditsTotal: '1161.29' });
    expect(outcome.breaches).toEqual([{ key: 'fcr', status: 'breached', value: 65, escalate: true }]);
    const [review] = (await pm('GET', `/engagements/${e.id}/reviews`)).body.items;
    expect(review.credits.map((c: { arithmetic: string }) => c.arithmetic)).toEqual([
      'fcr: shortfall 10 from target 75 → tier beyond the last bound → 3% × USD 38,709.68 (the fee for 12 of 31 days) = USD 1,161.29',
    ]);
    expect(review.scorecard.credits.arithmetic[0]).toBe(
      'fee for 12 of 31 days (the service ended): USD 100,000.00 × 12/31 = USD 38,709.68',
    );
  });

  it('tells in a quarterly review the credits of its months, and keeps its own row at none', async () => {
    // given a quarter whose October owes credits (FCR breached), November and December at target
    const { e } = await anEngagementOf100k();
    await putMeasurements(f.db.prisma, e.id, { start: '2026-10-01', end: '2026-10-31' }, { fcr: 65, aht: 300 });
    await putMeasurements(f.db.prisma, e.id, { start: '2026-11-01', end: '2026-11-30' }, { fcr: 80, aht: 300 });
    await putMeasurements(f.db.prisma, e.id, { start: '2026-12-01', end: '2026-12-31' }, { fcr: 80, aht: 300 });
    const { conductReview } = createGovernanceActivities(f.db.prisma);
    for (const month of ['2026-10-01', '2026-11-01', '2026-12-01'])
      await conductReview({
        engagementId: e.id,
        period: firstPeriodFrom('MONTHLY', Date.parse(`${month}T00:00:00Z`), 'UTC'),
        timeZone: 'UTC',
      });

    // when the quarter is reviewed
    const quarter = firstPeriodFrom('QUARTERLY', Date.parse('2026-10-01T00:00:00Z'), 'UTC');
    const outcome = await conductReview({ engagementId: e.id, period: quarter, timeZone: 'UTC' });

    // then its outcome (what its notice says) tells October's 3,000.00; the row adds nothing to the months' credits
    expect(outcome).toMatchObject({ cadence: 'QUARTERLY', periodFrom: '2026-10-01', creditsTotal: '3000.00' });
    const rows = await f.db.prisma.review.findMany({
      where: { engagementId: e.id },
      orderBy: [{ periodStart: 'asc' }, { cadence: 'asc' }],
    });
    expect(rows.map((r) => [r.cadence, r.creditsTotal.toFixed(2)])).toEqual([
      ['MONTHLY', '3000.00'],
      ['QUARTERLY', '0.00'],
      ['MONTHLY', '0.00'],
      ['MONTHLY', '0.00'],
    ]);
  });

  it('stores one review, with one set of credits and action items, when two attempts for a period run at once', async () => {
    // given an engagement with no October data
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId));
    const { conductReview } = createGovernanceActivities(f.db.prisma);
    const october = firstPeriodFrom('MONTHLY', Date.parse('2026-10-01T00:00:00Z'), 'UTC');

    // when a retry of the review runs while the first attempt is still running
    const [first, second] = await Promise.all([
      conductReview({ engagementId: e.id, period: october, timeZone: 'UTC' }),
      conductReview({ engagementId: e.id, period: october, timeZone: 'UTC' }),
    ]);

    // then both return the one stored outcome, and its credits and action items exist once
    expect(second).toEqual(first);
    const reviews = (await pm('GET', `/engagements/${e.id}/reviews`)).body.items;
    expect(reviews.map((r: { id: string }) => r.id)).toEqual([first.reviewId]);
    expect(reviews[0].credits.map((c: { slaKey: string }) => c.slaKey)).toEqual(['fcr']);
    const items = (await pm('GET', `/engagements/${e.id}/action-items`)).body.items;
    expect(items.map((i: { title: string }) => i.title).sort()).toEqual([
      'Submit aht data for 2026-10-01 – 2026-10-31',
      'Submit fcr data for 2026-10-01 – 2026-10-31',
    ]);
  });

  it('counts a KPI without data as missing, a breach with the worst credit tier', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId));
    const { conductReview } = createGovernanceActivities(f.db.prisma);
    const outcome = await conductReview({
      engagementId: e.id,
      period: firstPeriodFrom('MONTHLY', Date.parse('2026-10-01T00:00:00Z'), 'UTC'),
      timeZone: 'UTC',
    });
    expect(outcome.breaches.map((b) => [b.key, b.status])).toEqual([
      ['aht', 'missing'],
      ['fcr', 'missing'],
    ]);
    expect(outcome.creditsTotal).toBe('3000.00');
  });
  it('escalates a weekly KPI from the monthly review when the engagement has no weekly review', async () => {
    // given an engagement reviewed monthly and quarterly, with a weekly KPI, and no data for October
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const asa = aSla({ key: 'asa', measurementPeriod: 'WEEKLY', mandatoryForGates: false, creditTiers: [] });
    const builder = anEngagement(vendorId);
    const body = { ...builder, reviewCadences: ['MONTHLY', 'QUARTERLY'], slas: [...builder.slas, asa] };
    const { body: e } = await pm('POST', '/engagements', body);
    const { conductReview } = createGovernanceActivities(f.db.prisma);

    // when October is reviewed
    const outcome = await conductReview({
      engagementId: e.id,
      period: firstPeriodFrom('MONTHLY', Date.parse('2026-10-01T00:00:00Z'), 'UTC'),
      timeZone: 'UTC',
    });

    // then the weekly KPI's missing data raises an escalation from this review (no other review would)
    expect(outcome.breaches).toContainEqual({ key: 'asa', status: 'missing', value: null, escalate: true });
  });

  it('counts a week that runs from one month into the next in both months, for its days in each', async () => {
    // given weekly FCR data for January 2025, whose first and last weeks run over the month's edges
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId));
    await f.db.prisma.sla.updateMany({ where: { engagementId: e.id }, data: { measurementPeriod: 'WEEKLY' } });
    const weeks: Array<[string, string, number]> = [
      ['2024-12-30', '2025-01-05', 60], // 5 of its 7 days in January
      ['2025-01-06', '2025-01-12', 80],
      ['2025-01-13', '2025-01-19', 80],
      ['2025-01-20', '2025-01-26', 80],
      ['2025-01-27', '2025-02-02', 60], // 5 days in January, 2 in February
      ['2025-02-03', '2025-02-09', 90],
      ['2025-02-10', '2025-02-16', 90],
      ['2025-02-17', '2025-02-23', 90],
      ['2025-02-24', '2025-03-02', 90],
    ];
    for (const [start, end, fcr] of weeks) await putMeasurements(f.db.prisma, e.id, { start, end }, { fcr, aht: 300 });
    const { conductReview } = createGovernanceActivities(f.db.prisma);
    const january = firstPeriodFrom('MONTHLY', Date.parse('2025-01-01T00:00:00Z'), 'UTC');
    const february = firstPeriodFrom('MONTHLY', Date.parse('2025-02-01T00:00:00Z'), 'UTC');

    await conductReview({ engagementId: e.id, period: january, timeZone: 'UTC' });
    await conductReview({ engagementId: e.id, period: february, timeZone: 'UTC' });

    // then January's FCR is the day-weighted mean of all five weeks in it (the edge weeks used to be left out: 80)
    const reviews = (await pm('GET', `/engagements/${e.id}/reviews`)).body.items;
    const fcrOf = (month: string) =>
      reviews
        .find((r: { periodStart: string }) => r.periodStart.startsWith(month))
        .scorecard.kpis.find((k: { key: string }) => k.key === 'fcr').value;
    expect(fcrOf('2025-01')).toBe(round4((5 * 60 + 21 * 80 + 5 * 60) / 31));
    // and February's has the last week's two February days
    expect(fcrOf('2025-02')).toBe(round4((2 * 60 + 26 * 90) / 28));
  });

  it('counts a KPI measured for only part of the period as missing, but not for a last week still running', async () => {
    // given October measured for one good day of FCR (monthly), and for weekly ASA up to the last week of October,
    // which runs into November (Monday 27th to Sunday 2nd) and had not ended when the month's review was due (a day's
    // grace: 2 November)
    const { pm, e } = await anEngagementWithWeeklyAsa({ reviewGrace: '1d' });
    await putMeasurements(f.db.prisma, e.id, { start: '2025-10-01', end: '2025-10-01' }, { fcr: 95 });
    await putMeasurements(f.db.prisma, e.id, { start: '2025-10-01', end: '2025-10-31' }, { aht: 300 });
    await putWeeklyAsa(e.id, ['2025-09-29', '2025-10-06', '2025-10-13', '2025-10-20']);

    // when October is reviewed
    const outcome = await reviewOctober2025(e.id);

    // then FCR is missing (one day does not stand for the month), and ASA is scored from its 26 measured days
    expect(outcome.breaches).toEqual([
      { key: 'fcr', status: 'missing', value: null, escalate: true, measuredDays: 1, periodDays: 31 },
    ]);
    const [review] = (await pm('GET', `/engagements/${e.id}/reviews`)).body.items;
    const kpi = (key: string) => review.scorecard.kpis.find((k: { key: string }) => k.key === key);
    expect([kpi('fcr').status, kpi('fcr').value, kpi('asa').status, kpi('asa').value]).toEqual([
      'missing',
      null,
      'met',
      20,
    ]);
    const items = (await pm('GET', `/engagements/${e.id}/action-items`)).body.items;
    expect(items.map((i: { title: string }) => i.title)).toEqual([
      'Submit fcr data for the whole of 2025-10-01 – 2025-10-31 (1 of 31 days measured)',
    ]);
  });

  it.each([
    ['its days of the last week sent: scored', true, []],
    [
      'without them: missing (no later review will ask for them)',
      false,
      [{ key: 'asa', status: 'missing', value: null, escalate: false, measuredDays: 12, periodDays: 15 }],
    ],
  ] as const)(
    'in a month the service ended in on a Wednesday, wants a weekly KPI to that Wednesday: %s',
    async (_name, lastDaysSent, breaches) => {
      // given a service that ended with Wednesday 2025-10-15, and weekly ASA for the weeks of September 29th and
      // October 6th (the first, begun before the month, is the first review's to forgive in part)
      const { e } = await anEngagementWithWeeklyAsa({ reviewGrace: '3d' });
      await putMeasurements(f.db.prisma, e.id, { start: '2025-10-01', end: '2025-10-15' }, { fcr: 80, aht: 300 });
      await putWeeklyAsa(e.id, ['2025-09-29', '2025-10-06']);
      if (lastDaysSent)
        await putMeasurements(f.db.prisma, e.id, { start: '2025-10-13', end: '2025-10-15' }, { asa: 20 });
      const october = firstPeriodFrom('MONTHLY', Date.parse('2025-10-01T00:00:00Z'), 'UTC');

      // when the days the service ran of October are reviewed (due on the 19th, before that week would have ended)
      const outcome = await createGovernanceActivities(f.db.prisma).conductReview({
        engagementId: e.id,
        period: serviceShareOf(october, '2025-10-16T00:00:00.000Z', 'UTC')!,
        timeZone: 'UTC',
      });

      // then the week the service ended in is not excused as one still running (the weekly review escalates it)
      expect(outcome.breaches).toEqual(breaches);
    },
  );

  it('counts a weekly KPI as missing when a week over the edge was not sent though it could have been', async () => {
    // given weekly ASA for October without its last week (27 October to 2 November), on an engagement reviewed with
    // three days' grace: that week had ended when October's review was due (4 November)
    const { e } = await anEngagementWithWeeklyAsa();
    await putMeasurements(f.db.prisma, e.id, { start: '2025-10-01', end: '2025-10-31' }, { fcr: 80, aht: 300 });
    await putWeeklyAsa(e.id, ['2025-09-29', '2025-10-06', '2025-10-13', '2025-10-20']);

    // then October's ASA is missing (its last five days used to be forgiven in every month: a bad week at a month's
    // end could be left out of both months' reviews and their credits)
    expect((await reviewOctober2025(e.id)).breaches).toEqual([
      { key: 'asa', status: 'missing', value: null, escalate: false, measuredDays: 26, periodDays: 31 },
    ]);

    // and a first week begun in September is forgiven only in the first month reviewed: with September reviewed
    // before it, November without the week of 27 October is missing too
    const { e: next } = await anEngagementWithWeeklyAsa();
    await putMeasurements(f.db.prisma, next.id, { start: '2025-09-01', end: '2025-11-30' }, { fcr: 80, aht: 300 });
    await putWeeklyAsa(next.id, ['2025-09-01', '2025-09-08', '2025-09-15', '2025-09-22', '2025-09-29']);
    await putWeeklyAsa(next.id, ['2025-11-03', '2025-11-10', '2025-11-17', '2025-11-24']);
    const review = (month: string) =>
      createGovernanceActivities(f.db.prisma).conductReview({
        engagementId: next.id,
        period: firstPeriodFrom('MONTHLY', Date.parse(`${month}T00:00:00Z`), 'UTC'),
        timeZone: 'UTC',
      });
    expect((await review('2025-09-01')).breaches).toEqual([]);
    expect((await review('2025-11-01')).breaches).toEqual([
      { key: 'asa', status: 'missing', value: null, escalate: false, measuredDays: 28, periodDays: 30 },
    ]);
  });

  it('counts a weekly KPI with a week left out in the middle of the month as missing', async () => {
    const { e } = await anEngagementWithWeeklyAsa();
    await putMeasurements(f.db.prisma, e.id, { start: '2025-10-01', end: '2025-10-31' }, { fcr: 80, aht: 300 });
    await putWeeklyAsa(e.id, ['2025-09-29', '2025-10-13', '2025-10-20', '2025-10-27']);

    const outcome = await reviewOctober2025(e.id);

    // (its own weekly review escalates it)
    expect(outcome.breaches).toEqual([
      { key: 'asa', status: 'missing', value: null, escalate: false, measuredDays: 24, periodDays: 31 },
    ]);
  });
  it('gives action items two weeks from when the review was due, however long its grace', async () => {
    // given an engagement whose month-end figures take 30 days to reconcile (the review's grace), and a breach
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId, { reviewGrace: '30d' }));
    await putMeasurements(f.db.prisma, e.id, { start: '2026-10-01', end: '2026-10-31' }, { fcr: 60, aht: 300 });

    // when October is reviewed (due 1 December)
    await createGovernanceActivities(f.db.prisma).conductReview({
      engagementId: e.id,
      period: firstPeriodFrom('MONTHLY', Date.parse('2026-10-01T00:00:00Z'), 'UTC'),
      timeZone: 'UTC',
    });

    // then its action item is due two weeks later (it used to be due 14 November: overdue before it existed)
    const items = (await pm('GET', `/engagements/${e.id}/action-items`)).body.items;
    expect(items.map((i: { dueOn: string }) => i.dueOn.slice(0, 10))).toEqual(['2026-12-15']);
  });

  it('does not let values for single days outvote the month they fall in', async () => {
    // given October's FCR at 60 (a breach), then two single days sent at 100
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId));
    await putMeasurements(f.db.prisma, e.id, { start: '2026-10-01', end: '2026-10-31' }, { fcr: 60, aht: 300 });
    await putMeasurements(f.db.prisma, e.id, { start: '2026-10-01', end: '2026-10-01' }, { fcr: 100 });
    await putMeasurements(f.db.prisma, e.id, { start: '2026-10-02', end: '2026-10-02' }, { fcr: 100 });
    const { conductReview } = createGovernanceActivities(f.db.prisma);
    const october = firstPeriodFrom('MONTHLY', Date.parse('2026-10-01T00:00:00Z'), 'UTC');

    const outcome = await conductReview({ engagementId: e.id, period: october, timeZone: 'UTC' });

    // then the two days count as two days of 31: the month stays breached (a plain mean of the three said 86.67)
    expect(outcome.breaches).toEqual([
      { key: 'fcr', status: 'breached', value: round4((29 * 60 + 200) / 31), escalate: true },
    ]);
  });
});
