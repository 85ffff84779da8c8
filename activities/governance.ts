import { randomUUID } from 'node:crypto';
import { Prisma } from '../src/generated/prisma/client';
import type { PrismaClient } from '../src/db';
import { periodDates, type Period } from '../src/domain/calendar';
import { computeServiceCredits } from '../src/domain/credits';
import { meanValue, scoreKpi, weightedScore, type KpiResult } from '../src/domain/scorecard';
import type { ReviewCadence } from '../src/domain/types';
import { toKpiDefinition } from './kpis';

/** Which KPIs a review of each cadence scores: a weekly review cannot judge a monthly figure before the month ends. */
const SCORED: Record<ReviewCadence, Array<'WEEKLY' | 'MONTHLY' | 'QUARTERLY'>> = {
  WEEKLY: ['WEEKLY'],
  MONTHLY: ['WEEKLY', 'MONTHLY'],
  QUARTERLY: ['WEEKLY', 'MONTHLY', 'QUARTERLY'],
  ANNUAL: ['WEEKLY', 'MONTHLY', 'QUARTERLY'],
};

export interface ReviewOutcome {
  reviewId: string;
  cadence: ReviewCadence;
  periodFrom: string;
  periodTo: string;
  overallScore: number | null;
  creditsTotal: string;
  /** KPIs breached or missing, raised as escalations by the review whose cadence is the KPI's own period. */
  breaches: Array<{ key: string; status: 'breached' | 'missing'; value: number | null; escalate: boolean }>;
}

export type ScorecardKpi = KpiResult & { trend: number | null; measurementPeriod: string };

export function createGovernanceActivities(prisma: PrismaClient) {
  return {
    /**
     * Scores one period: per KPI value, target, minimum, attainment, trend and status; a weighted overall score;
     * service credits (monthly reviews) with their arithmetic; action items for breaches. Once per period: a retry
     * returns the stored review.
     */
    async conductReview(input: { engagementId: string; period: Period; timeZone: string }): Promise<ReviewOutcome> {
      const { cadence } = input.period;
      const dates = periodDates(input.period, input.timeZone);
      const periodStart = new Date(dates.from);
      const periodEnd = new Date(dates.to);
      // The latest review on or before this period: this period's own (a retry returns it) or the one before it.
      const [latest, engagement, measurements] = await Promise.all([
        prisma.review.findFirst({
          where: { engagementId: input.engagementId, cadence, periodStart: { lte: periodStart } },
          orderBy: { periodStart: 'desc' },
        }),
        prisma.engagement.findUniqueOrThrow({
          where: { id: input.engagementId },
          include: {
            slas: { include: { creditTiers: true }, orderBy: { key: 'asc' } },
            escalationLevels: { orderBy: { level: 'asc' } },
          },
        }),
        prisma.kpiMeasurement.findMany({
          where: {
            engagementId: input.engagementId,
            supersededAt: null,
            periodStart: { gte: periodStart },
            periodEnd: { lte: periodEnd },
          },
        }),
      ]);
      if (latest?.periodStart.getTime() === periodStart.getTime()) return storedOutcome(latest);
      // Otherwise `latest` is the previous review, the baseline of each KPI's trend.
      const slas = engagement.slas.filter((s) => SCORED[cadence].includes(s.measurementPeriod));
      const previousKpis = ((latest?.scorecard as { kpis?: ScorecardKpi[] } | undefined)?.kpis ?? []) as ScorecardKpi[];

      const definitions = slas.map(toKpiDefinition);
      const values: Record<string, number | null> = {};
      for (const s of slas)
        values[s.key] = meanValue(measurements.filter((m) => m.slaId === s.id).map((m) => m.value.toNumber())) ?? null;
      const results = definitions.map((d) => scoreKpi(d, values[d.key]));
      const kpis: ScorecardKpi[] = results.map((r, i) => {
        const before = previousKpis.find((p) => p.key === r.key)?.value ?? null;
        return {
          ...r,
          trend: r.value !== null && before !== null ? round(r.value - before) : null,
          measurementPeriod: slas[i].measurementPeriod,
        };
      });
      const overallScore = weightedScore(definitions, results);

      const credits =
        cadence === 'MONTHLY'
          ? computeServiceCredits({
              kpis: slas.map((s) => ({
                key: s.key,
                direction: s.direction,
                target: s.target.toNumber(),
                tiers: s.creditTiers.map((t) => ({
                  maxShortfall: t.maxShortfall?.toNumber() ?? null,
                  creditPct: t.creditPct.toNumber(),
                })),
              })),
              values,
              monthlyFeeCents: Math.round(engagement.monthlyFee.toNumber() * 100),
              atRiskPct: engagement.atRiskPct.toNumber(),
              currency: engagement.currency,
            })
          : null;
      const summary =
        cadence === 'QUARTERLY' || cadence === 'ANNUAL'
          ? await periodSummary(prisma, input.engagementId, periodStart, periodEnd)
          : null;
      const breaches = kpis
        .filter((k) => k.status === 'breached' || k.status === 'missing')
        .map((k) => ({
          key: k.key,
          status: k.status as 'breached' | 'missing',
          value: k.value,
          escalate: k.measurementPeriod === cadence,
        }));
      const creditsTotal = credits ? (credits.totalCents / 100).toFixed(2) : '0.00';
      // The id is chosen here so the review is stored with its final scorecard in one statement.
      const reviewId = randomUUID();
      const outcome: ReviewOutcome = {
        reviewId,
        cadence,
        periodFrom: dates.from,
        periodTo: dates.to,
        overallScore,
        creditsTotal,
        breaches,
      };
      const owner = engagement.escalationLevels[0]?.role ?? 'vendor operations lead';
      const due = new Date(periodEnd.getTime() + 14 * 86_400_000);

      try {
        await prisma.$transaction([
          prisma.review.create({
            data: {
              id: reviewId,
              engagementId: input.engagementId,
              cadence,
              periodStart,
              periodEnd,
              overallScore,
              creditsTotal,
              scorecard: {
                kpis,
                overallScore,
                credits: credits && { ...credits, lines: credits.lines },
                summary,
                outcome,
              } as unknown as Prisma.InputJsonValue,
            },
            select: { id: true },
          }),
          ...(credits?.lines.length
            ? [
                prisma.serviceCredit.createMany({
                  data: credits.lines.map((l) => ({
                    reviewId,
                    slaKey: l.key,
                    amount: (l.amountCents / 100).toFixed(2),
                    arithmetic: l.arithmetic,
                  })),
                }),
              ]
            : []),
          ...(breaches.length
            ? [
                prisma.actionItem.createMany({
                  data: breaches.map((b) => ({
                    engagementId: input.engagementId,
                    reviewId,
                    title:
                      b.status === 'missing'
                        ? `Submit ${b.key} data for ${dates.from} – ${dates.to}`
                        : `Corrective action for ${b.key} (${b.value} breaches its minimum)`,
                    owner,
                    dueOn: due,
                  })),
                }),
              ]
            : []),
        ]);
        return outcome;
      } catch (error) {
        // A concurrent retry stored the same period first: return its outcome.
        if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
          return storedOutcome(
            await prisma.review.findUniqueOrThrow({
              where: { engagementId_cadence_periodStart: { engagementId: input.engagementId, cadence, periodStart } },
            }),
          );
        }
        throw error;
      }
    },
  };
}

function storedOutcome(review: { scorecard: Prisma.JsonValue }): ReviewOutcome {
  return (review.scorecard as unknown as { outcome: ReviewOutcome }).outcome;
}

/** A QBR's (or annual review's) look back: monthly scores, credits, and open action items. */
async function periodSummary(prisma: PrismaClient, engagementId: string, from: Date, to: Date) {
  const monthly = await prisma.review.findMany({
    where: { engagementId, cadence: 'MONTHLY', periodStart: { gte: from, lte: to } },
    orderBy: { periodStart: 'asc' },
  });
  const openActionItems = await prisma.actionItem.count({ where: { engagementId, status: 'OPEN' } });
  return {
    monthlyScores: monthly.map((r) => ({
      month: r.periodStart.toISOString().slice(0, 7),
      score: r.overallScore?.toNumber() ?? null,
    })),
    creditsTotal: monthly.reduce((sum, r) => sum.plus(r.creditsTotal), new Prisma.Decimal(0)).toFixed(2),
    openActionItems,
  };
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
