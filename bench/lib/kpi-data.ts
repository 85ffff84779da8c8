import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../src/db';

/** KPI data written straight into the database in bulk, as months of vendor submissions would have left it. */
export interface PeriodValues {
  engagementId: string;
  /** ISO dates, both inclusive. */
  start: string;
  end: string;
  values: Record<string, number>;
}

export async function writeMeasurements(prisma: PrismaClient, periods: PeriodValues[]): Promise<number> {
  const engagementIds = [...new Set(periods.map((p) => p.engagementId))];
  const slas = await prisma.sla.findMany({ where: { engagementId: { in: engagementIds } } });
  const slaId = new Map(slas.map((s) => [`${s.engagementId}/${s.key}`, s.id]));
  const submissions = periods.map((p) => ({ id: randomUUID(), ...p }));
  const measurements = submissions.flatMap((s) =>
    Object.entries(s.values).map(([key, value]) => ({
      engagementId: s.engagementId,
      slaId: slaId.get(`${s.engagementId}/${key}`)!,
      submissionId: s.id,
      periodStart: new Date(s.start),
      periodEnd: new Date(s.end),
      value,
      version: 1,
      source: 'bench',
      submittedBy: 'bench',
    })),
  );
  for (let i = 0; i < submissions.length; i += 5000) {
    await prisma.kpiSubmission.createMany({
      data: submissions.slice(i, i + 5000).map((s) => ({
        id: s.id,
        engagementId: s.engagementId,
        periodStart: new Date(s.start),
        periodEnd: new Date(s.end),
        source: 'bench',
        submittedBy: 'bench',
      })),
    });
  }
  for (let i = 0; i < measurements.length; i += 5000)
    await prisma.kpiMeasurement.createMany({ data: measurements.slice(i, i + 5000) });
  return measurements.length;
}

const DAY_MS = 86_400_000;
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Calendar months (UTC) from the one containing `fromMs`, `count` of them. */
export function months(fromMs: number, count: number): Array<{ start: string; end: string }> {
  const from = new Date(fromMs);
  return Array.from({ length: count }, (_, m) => ({
    start: isoDate(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + m, 1)),
    end: isoDate(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + m + 1, 0)),
  }));
}

/** ISO weeks (Monday to Sunday, UTC) from the one containing `fromMs`, `count` of them. */
export function weeks(fromMs: number, count: number): Array<{ start: string; end: string }> {
  const day = new Date(fromMs);
  const monday =
    Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()) - ((day.getUTCDay() + 6) % 7) * DAY_MS;
  return Array.from({ length: count }, (_, w) => ({
    start: isoDate(monday + w * 7 * DAY_MS),
    end: isoDate(monday + (w * 7 + 6) * DAY_MS),
  }));
}
