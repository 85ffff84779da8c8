import type { PrismaClient } from '../../src/db';

const DAY_MS = 86_400_000;

/** ISO date `days` after `from` (a workflow-clock instant in ms). */
export function dayOffset(fromMs: number, days: number): string {
  return new Date(fromMs + days * DAY_MS).toISOString().slice(0, 10);
}

/** The calendar month (UTC, the builders' time zone) that holds `atMs`, as a KPI submission's period. */
export function monthOf(atMs: number): { periodStart: string; periodEnd: string } {
  const at = new Date(atMs);
  const first = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1);
  const last = Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 0);
  return { periodStart: dayOffset(first, 0), periodEnd: dayOffset(last, 0) };
}

/** Writes KPI measurements straight into the database, as a vendor's submissions would have. */
export async function putMeasurements(
  prisma: PrismaClient,
  engagementId: string,
  period: { start: string; end: string },
  values: Record<string, number>,
): Promise<void> {
  const slas = await prisma.sla.findMany({ where: { engagementId } });
  const submission = await prisma.kpiSubmission.create({
    data: {
      engagementId,
      periodStart: new Date(period.start),
      periodEnd: new Date(period.end),
      source: 'test',
      submittedBy: 'test',
    },
  });
  for (const [key, value] of Object.entries(values)) {
    const sla = slas.find((s) => s.key === key)!;
    const current = await prisma.kpiMeasurement.findFirst({
      where: {
        slaId: sla.id,
        periodStart: new Date(period.start),
        periodEnd: new Date(period.end),
        supersededAt: null,
      },
    });
    if (current) await prisma.kpiMeasurement.update({ where: { id: current.id }, data: { supersededAt: new Date() } });
    await prisma.kpiMeasurement.create({
      data: {
        engagementId,
        slaId: sla.id,
        submissionId: submission.id,
        periodStart: new Date(period.start),
        periodEnd: new Date(period.end),
        value,
        version: (current?.version ?? 0) + 1,
        source: 'test',
        submittedBy: 'test',
      },
    });
  }
}

export const GOOD = { fcr: 80, aht: 300 };
export const BAD = { fcr: 60, aht: 300 };
