import { DateTime } from 'luxon';
import { newId } from '../src/ids';
import { Prisma } from '../src/generated/prisma/client';
import { queryOnPool, type PrismaClient } from '../src/db';
import { periodDates, shortPeriod, type Period } from '../src/domain/calendar';
import { computeServiceCredits } from '../src/domain/credits';
import {
  forgivenWeekDays,
  measuredEnough,
  scoreKpi,
  weightedScore,
  windowMeasure,
  type KpiDefinition,
  type KpiResult,
} from '../src/domain/scorecard';
import { reviewNotice, type ReviewSummary } from '../src/domain/review-notice';
import { reviewerOf, SCORED, type MeasurementPeriod, type ReviewCadence } from '../src/domain/types';
import type { Notify } from './notifications';

/** A review's outcome, as the workflow gets it: what its notice says, and each breach's value and escalation. */
export interface ReviewOutcome extends ReviewSummary {
  /** KPIs breached or missing, raised as escalations by one review each: see `reviewerOf`. */
  breaches: Array<{
    key: string;
    status: 'breached' | 'missing';
    value: number | null;
    escalate: boolean;
    /** Missing for being measured only in part: the days measured, of the period's. */
    measuredDays?: number;
    periodDays?: number;
  }>;
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
      // Plain parameterised queries on the pg pool (`queryOnPool`), each reading only what the review uses: a review
      // runs every week of a years-long engagement, and Prisma's client-side cost per query was most of its time.
      const [
        {
          rows: [latest],
        },
        {
          rows: [engagement],
        },
        { rows: measurements },
      ] = await Promise.all([
        // The latest review on or before this period: this period's own (a retry returns it) or the one before it,
        // whose KPI values are the baseline of each trend.
        queryOnPool<{ outcome: ReviewOutcome | null; kpis: Array<Pick<ScorecardKpi, 'key' | 'value'>> }>(
          prisma,
          'review-baseline',
          Prisma.sql`
          SELECT CASE WHEN r."periodStart" = ${dates.from}::date THEN r."scorecard"->'outcome' END AS "outcome",
                 (SELECT json_agg(json_build_object('key', k->'key', 'value', k->'value'))
                    FROM jsonb_array_elements(COALESCE(r."scorecard"->'kpis', '[]')) k) AS "kpis"
          FROM "Review" r
          WHERE r."engagementId" = ${input.engagementId}::uuid AND r."cadence" = ${cadence}::"ReviewCadence"
            AND r."periodStart" <= ${dates.from}::date
          ORDER BY r."periodStart" DESC
          LIMIT 1`,
        ),
        queryOnPool<EngagementTerms>(
          prisma,
          'review-terms',
          Prisma.sql`
          SELECT COALESCE((SELECT c."previousMonthlyFee" FROM "MonthlyFeeChange" c
                            WHERE c."engagementId" = e."id" AND c."effectiveFrom" > ${dates.from}::date
                            ORDER BY c."effectiveFrom" LIMIT 1), e."monthlyFee")::text AS "monthlyFee",
                 e."atRiskPct"::text AS "atRiskPct", e."creditPoolPct"::text AS "creditPoolPct", e."currency", array_to_json(e."reviewCadences") AS "cadences",
                 e."reviewGraceSeconds",
                 (SELECT l."role" FROM "EscalationLevel" l WHERE l."engagementId" = e."id"
                   ORDER BY l."level" LIMIT 1) AS "owner",
                 COALESCE((SELECT json_agg(json_build_object(
                     'id', s."id", 'key', s."key", 'direction', s."direction", 'target', s."target",
                     'minimum', s."minimum", 'weight', s."weight", 'mandatoryForGates', s."mandatoryForGates",
                     'measurementPeriod', s."measurementPeriod", 'allocationPct', s."creditAllocationPct",
                     'tiers', COALESCE((SELECT json_agg(json_build_object('maxShortfall', t."maxShortfall",
                                                                         'creditPct', t."creditPct"))
                                          FROM "ServiceCreditTier" t WHERE t."slaId" = s."id"), '[]')
                   ) ORDER BY s."key") FROM "Sla" s WHERE s."engagementId" = e."id"), '[]') AS "slas"
          FROM "Engagement" e
          WHERE e."id" = ${input.engagementId}::uuid`,
        ),
        // Every measurement whose period overlaps the review's (inclusive dates), in the order they were submitted.
        queryOnPool<{ slaId: string; value: string; periodStart: string; periodEnd: string }>(
          prisma,
          'review-measurements-by-day',
          Prisma.sql`
          SELECT m."slaId", m."value"::text AS "value", m."periodStart"::text AS "periodStart",
                 m."periodEnd"::text AS "periodEnd"
          FROM "KpiMeasurement" m
          WHERE m."engagementId" = ${input.engagementId}::uuid AND m."supersededAt" IS NULL
            AND m."periodStart" <= ${dates.to}::date AND m."periodEnd" >= ${dates.from}::date
          ORDER BY m."submittedAt", m."id"`,
        ),
      ]);
      if (latest?.outcome) return latest.outcome;
      if (!engagement) throw new Error(`no engagement ${input.engagementId}`);
      const slas = engagement.slas.filter((s) => SCORED[cadence].includes(s.measurementPeriod));
      const previousKpis = latest?.kpis ?? [];

      const definitions: KpiDefinition[] = slas.map((s) => ({
        key: s.key,
        direction: s.direction,
        target: s.target,
        minimum: s.minimum,
        weight: s.weight,
        mandatoryForGates: s.mandatoryForGates,
      }));
      const values: Record<string, number | null> = {};
      // KPIs measured for only part of the period: missing data, named with the days that were measured.
      const partly = new Map<string, { measuredDays: number; periodDays: number }>();
      // When the review was due (its period's end and the grace): a week over the period's end that had ended by then
      // must have been sent. In a period the service's end cut short, the week it ends in is over for the vendor: its
      // days up to the end must have been sent (no later review will ask for them).
      const dueMs = Date.parse(input.period.end) + engagement.reviewGraceSeconds * 1000;
      const short = shortPeriod(input.period, input.timeZone);
      const weekEnded = (mondayAfter: string) =>
        short !== null || DateTime.fromISO(mondayAfter, { zone: input.timeZone }).toMillis() <= dueMs;
      const edgeWeeks = forgivenWeekDays(dates.from, dates.to, !latest, weekEnded);
      const forgiven = (s: { measurementPeriod: MeasurementPeriod }) =>
        s.measurementPeriod === 'WEEKLY' && cadence !== 'WEEKLY' ? edgeWeeks : { atStart: 0, atEnd: 0 };
      for (const s of slas) {
        const measured = windowMeasure(
          dates.from,
          dates.to,
          measurements.filter((m) => m.slaId === s.id).map((m) => ({ ...m, value: Number(m.value) })),
        );
        const enough = measuredEnough(measured, forgiven(s));
        values[s.key] = enough ? (measured.mean ?? null) : null;
        if (!enough && measured.measuredDays > 0)
          partly.set(s.key, { measuredDays: measured.measuredDays, periodDays: measured.days });
      }
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
                target: s.target,
                minimum: s.minimum,
                tiers: s.tiers,
                allocationPct: s.allocationPct,
              })),
              values,
              monthlyFeeCents: Math.round(Number(engagement.monthlyFee) * 100),
              atRiskPct: Number(engagement.atRiskPct),
              poolPct: Number(engagement.creditPoolPct),
              // The month the service's end cut short: owed on the fee for the days it ran.
              ...(short && { shortMonth: short }),
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
          escalate: reviewerOf(k.measurementPeriod as MeasurementPeriod, engagement.cadences) === cadence,
          ...partly.get(k.key),
        }));
      // A monthly review's own credits are its row's (what the portfolio and the renewal add up); a quarterly or annual
      // review owes none of its own, and its outcome and notice tell the credits of the months it looks back on.
      const ownCredits = credits ? (credits.totalCents / 100).toFixed(2) : '0.00';
      const creditsTotal = summary?.creditsTotal ?? ownCredits;
      // The id is chosen here so the review is stored with its final scorecard in one statement.
      const reviewId = newId();
      const outcome: ReviewOutcome = {
        reviewId,
        cadence,
        periodFrom: dates.from,
        periodTo: dates.to,
        overallScore,
        creditsTotal,
        breaches,
      };
      const owner = engagement.owner ?? 'vendor operations lead';
      // Two weeks from when the review was due (it used to be from the period's end: with a long grace, action items
      // were created overdue).
      const due = DateTime.fromMillis(dueMs, { zone: input.timeZone }).plus({ days: 14 }).toISODate()!;
      const scorecard = {
        kpis,
        overallScore,
        credits,
        summary,
        outcome,
      };
      const creditRows = (credits?.lines ?? []).map((l) => ({
        id: newId(),
        slaKey: l.key,
        amount: (l.amountCents / 100).toFixed(2),
        arithmetic: l.arithmetic,
      }));
      const actionItems = breaches.map((b) => ({
        id: newId(),
        title:
          b.status === 'missing'
            ? b.measuredDays
              ? `Submit ${b.key} data for the whole of ${dates.from} – ${dates.to} (${b.measuredDays} of ${b.periodDays} days measured)`
              : `Submit ${b.key} data for ${dates.from} – ${dates.to}`
            : `Corrective action for ${b.key} (${b.value} breaches its minimum)`,
      }));
      const now = new Date();

      // One statement, so one implicit transaction without BEGIN and COMMIT round trips: the review with its final
      // scorecard, its credits and its action items, or nothing when a concurrent attempt stored the period first.
      const stored = await queryOnPool<{ id: string }>(
        prisma,
        'store-review',
        Prisma.sql`
        WITH review AS (
          INSERT INTO "Review" ("id", "engagementId", "cadence", "periodStart", "periodEnd", "overallScore",
                                "scorecard", "creditsTotal", "createdAt")
          VALUES (${reviewId}::uuid, ${input.engagementId}::uuid, ${cadence}::"ReviewCadence", ${dates.from}::date,
                  ${dates.to}::date, ${overallScore === null ? null : String(overallScore)}::numeric,
                  ${JSON.stringify(scorecard)}::jsonb, ${ownCredits}::numeric, ${now})
          ON CONFLICT ("engagementId", "cadence", "periodStart") DO NOTHING
          RETURNING "id"
        ), credits AS (
          INSERT INTO "ServiceCredit" ("id", "reviewId", "slaKey", "amount", "arithmetic")
          SELECT c."id", review."id", c."slaKey", c."amount", c."arithmetic"
          FROM review, jsonb_to_recordset(${JSON.stringify(creditRows)}::jsonb)
            AS c("id" uuid, "slaKey" text, "amount" numeric, "arithmetic" text)
        ), items AS (
          INSERT INTO "ActionItem" ("id", "engagementId", "reviewId", "title", "owner", "dueOn", "createdAt")
          SELECT i."id", ${input.engagementId}::uuid, review."id", i."title", ${owner}, ${due}::date, ${now}
          FROM review, jsonb_to_recordset(${JSON.stringify(actionItems)}::jsonb) AS i("id" uuid, "title" text)
        )
        SELECT "id" FROM review`,
      );
      if (stored.rows.length) return outcome;
      // A concurrent attempt stored the same period first: return its outcome.
      const {
        rows: [theirs],
      } = await queryOnPool<{ outcome: ReviewOutcome }>(
        prisma,
        'stored-review',
        Prisma.sql`
        SELECT "scorecard"->'outcome' AS "outcome" FROM "Review"
        WHERE "engagementId" = ${input.engagementId}::uuid AND "cadence" = ${cadence}::"ReviewCadence"
          AND "periodStart" = ${dates.from}::date`,
      );
      return theirs.outcome;
    },
  };
}

type ReviewInput = { engagementId: string; period: Period; timeZone: string };

/**
 * `conductReview`, then the notice that publishes its scorecard, as one activity: one round trip instead of two for
 * every review. The notice is tried once; when it fails the review is still reported (`published: false`) and the
 * workflow sends the notice with its own retries, so a notifier that is down never holds up a review's escalations.
 */
export function createReviewPublishing(conductReview: (input: ReviewInput) => Promise<ReviewOutcome>, notify: Notify) {
  return {
    async reviewAndPublish(input: ReviewInput): Promise<ReviewOutcome & { published: boolean }> {
      const outcome = await conductReview(input);
      try {
        await notify(reviewNotice(input.engagementId, outcome));
        return { ...outcome, published: true };
      } catch {
        return { ...outcome, published: false };
      }
    },
  };
}

/** What a review reads about its engagement: the money terms, the first escalation contact, and the SLAs. */
interface EngagementTerms {
  monthlyFee: string;
  cadences: ReviewCadence[];
  atRiskPct: string;
  creditPoolPct: string;
  currency: string;
  reviewGraceSeconds: number;
  owner: string | null;
  slas: Array<
    KpiDefinition & {
      id: string;
      measurementPeriod: 'WEEKLY' | 'MONTHLY' | 'QUARTERLY';
      tiers: Array<{ maxShortfall: number | null; creditPct: number }>;
      allocationPct: number | null;
    }
  >;
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
