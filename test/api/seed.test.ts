import { loadDemoPortfolio } from '../../src/seed/load';
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

  it('changes nothing when run again', async () => {
    const before = await db.prisma.kpiMeasurement.count();
    const again = await loadDemoPortfolio(db.prisma, { engagements: 14, today: new Date('2026-11-23') });
    expect(again.engagements).toBe(0);
    expect(await db.prisma.kpiMeasurement.count()).toBe(before);
  });
});
