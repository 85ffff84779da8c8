import { renewalMilestones } from '../../src/domain/renewal';
import { loadDemoPortfolio } from '../../src/seed/load';
import { demoPortfolio } from '../../src/seed/portfolio';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

describe('demo portfolio seed', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('loads vendors across delivery models, engagements at several stages and a year of KPI data with breaches', async () => {
    const result = await loadDemoPortfolio(db.prisma, { engagements: 14, today: new Date('2026-11-23') });
    expect(result).toMatchObject({ vendors: 6, engagements: 14 });

    const models = await db.prisma.vendor.groupBy({ by: ['deliveryModel'], _count: true });
    expect(models.map((m) => m.deliveryModel).sort()).toEqual(['NEARSHORE', 'OFFSHORE', 'ONSHORE']);
    const stages = await db.prisma.engagement.groupBy({ by: ['stage'], _count: true });
    expect(stages.length).toBeGreaterThanOrEqual(4);

    const measurements = await db.prisma.kpiMeasurement.findMany({ include: { sla: true } });
    const periods = new Set(measurements.map((m) => m.periodStart.toISOString().slice(0, 7)));
    expect([...periods].sort()).toEqual(
      Array.from({ length: 12 }, (_, k) => new Date(Date.UTC(2025, 10 + k, 1)).toISOString().slice(0, 7)),
    );
    const breaches = measurements.filter((m) =>
      m.sla.direction === 'HIGHER_IS_BETTER' ? m.value.lessThan(m.sla.minimum) : m.value.greaterThan(m.sla.minimum),
    );
    expect(breaches.length).toBeGreaterThan(0);
    expect(breaches.length).toBeLessThan(measurements.length / 2);
  });

  it("reviews only the demo's engagements, never one a user created", async () => {
    // given an engagement of the user's own, in steady state, at a vendor of the demo
    const vendor = await db.prisma.vendor.findFirstOrThrow();
    const own = await db.prisma.engagement.create({
      data: {
        vendorId: vendor.id,
        name: 'My own engagement',
        clientOrganisation: 'Me',
        processesInScope: ['payroll'],
        sourcingApproach: 'STRATEGIC',
        termStart: new Date('2026-01-01'),
        termEnd: new Date('2028-12-31'),
        monthlyFee: '1000.00',
        currency: 'USD',
        renewalNoticeDays: 90,
        atRiskPct: '10.00',
        stage: 'STEADY_STATE',
      },
    });
    // when the seed runs again (more engagements this time)
    await loadDemoPortfolio(db.prisma, { engagements: 16, today: new Date('2026-11-23') });
    // then the user's engagement has no review, the demo's do
    expect(await db.prisma.review.count({ where: { engagementId: own.id } })).toBe(0);
    expect(await db.prisma.review.count()).toBeGreaterThan(0);
    await db.prisma.engagement.delete({ where: { id: own.id } });
  });

  it('changes nothing when run again', async () => {
    const before = await db.prisma.kpiMeasurement.count();
    const again = await loadDemoPortfolio(db.prisma, { engagements: 14, today: new Date('2026-11-23') });
    expect(again.engagements).toBe(0);
    expect(await db.prisma.kpiMeasurement.count()).toBe(before);
  });

  it('run again in a later month, reviews no month of the engagements it seeded before', async () => {
    // given the demo seeded in November 2026, its data running to November
    const reviewsBefore = await db.prisma.review.count();
    // when it runs again on 2 February 2027
    const again = await loadDemoPortfolio(db.prisma, { engagements: 14, today: new Date('2027-02-02') });
    // then nothing was added: December and January, months without their data, were not scored as missing (with
    // credits at the worst tier and action items to submit it)
    expect(again).toMatchObject({ engagements: 0, reviews: 0 });
    expect(await db.prisma.review.count()).toBe(reviewsBefore);
  });

  it.each(['2026-01-15', '2026-07-31', '2026-12-03'])(
    'seeds dates that agree with each stage, as a lifecycle started on it would find them (on %s)',
    (today) => {
      const now = Date.parse(`${today}T12:00:00Z`);
      for (const e of demoPortfolio({ engagements: 30, today: new Date(now) }).engagements) {
        const start = Date.parse(e.termStart);
        const m = renewalMilestones(`${e.termEnd}T00:00:00Z`, e.renewalNoticeDays, undefined, 'UTC');
        const facts = { stage: e.stage, termStart: e.termStart, termEnd: e.termEnd };
        // a renewal: evaluated, the decision still open (it was evaluated a year ahead, the engagement going back to
        // steady state when its lifecycle started)
        if (e.stage === 'RENEWAL')
          expect([facts, Date.parse(m.evaluationAt) <= now, now < Date.parse(m.noticeDeadline)]).toEqual([
            facts,
            true,
            true,
          ]);
        // a transition: its term has begun (it began in the future on some months)
        else if (e.stage === 'TRANSITION') expect([facts, start <= now]).toEqual([facts, true]);
        else if (e.stage === 'CONTRACTED') expect([facts, start > now]).toEqual([facts, true]);
        else if (e.stage === 'STEADY_STATE')
          expect([facts, start <= now, now < Date.parse(m.evaluationAt)]).toEqual([facts, true, true]);
      }
    },
  );
});
