/**
 * KPI attainment and weighted scores: pure and deterministic, shared by transition gates, reviews and the API.
 * Attainment is 100 at target; better than target is capped at 100 so one excellent KPI cannot hide a poor one.
 */
import { meets, type KpiDirection } from './types';

export interface KpiDefinition {
  key: string;
  direction: KpiDirection;
  target: number;
  minimum: number;
  weight: number;
  mandatoryForGates: boolean;
}

export type KpiStatus = 'met' | 'at_risk' | 'breached' | 'missing';

export interface KpiResult {
  key: string;
  value: number | null;
  target: number;
  minimum: number;
  /** 0–100; 0 when missing. */
  attainment: number;
  status: KpiStatus;
  mandatory: boolean;
}

/**
 * How much of its target a value attains (0–100): value ÷ target, or target ÷ value for a KPI where lower is better.
 * A scale that reaches zero or below (a target of zero critical defects, a net promoter score with a target of -10,
 * or one of 20 whose minimum is -10) has no meaningful ratio: there the attainment falls in a straight line from 100
 * at the target to 50 at the minimum, and to 0 at twice the minimum's distance (0 at once when the minimum is the
 * target).
 */
export function attainment(direction: KpiDirection, value: number, target: number, minimum = target): number {
  const higher = direction === 'HIGHER_IS_BETTER';
  // How far the value falls short of the target, in the KPI's own direction (0 or less: at or better than target).
  const shortfall = higher ? target - value : value - target;
  if (shortfall <= 0) return 100;
  if (target <= 0 || (higher && minimum <= 0)) {
    const range = higher ? target - minimum : minimum - target;
    return range > 0 ? clamp(100 - (50 * shortfall) / range) : 0;
  }
  return clamp(higher ? (value / target) * 100 : (target / value) * 100);
}

export function kpiStatus(kpi: KpiDefinition, value: number | null): KpiStatus {
  if (value === null) return 'missing';
  if (meets(kpi.direction, value, kpi.target)) return 'met';
  return meets(kpi.direction, value, kpi.minimum) ? 'at_risk' : 'breached';
}

export function scoreKpi(kpi: KpiDefinition, value: number | null): KpiResult {
  return {
    key: kpi.key,
    value,
    target: kpi.target,
    minimum: kpi.minimum,
    attainment: value === null ? 0 : round2(attainment(kpi.direction, value, kpi.target, kpi.minimum)),
    status: kpiStatus(kpi, value),
    mandatory: kpi.mandatoryForGates,
  };
}

/** Weighted mean of attainments (missing KPIs count as 0), rounded to 2 decimals; null when nothing is weighted. */
export function weightedScore(kpis: KpiDefinition[], results: KpiResult[]): number | null {
  const totalWeight = kpis.reduce((sum, k) => sum + k.weight, 0);
  if (totalWeight <= 0) return null;
  const weighted = kpis.reduce((sum, k, i) => sum + k.weight * results[i].attainment, 0);
  return round2(weighted / totalWeight);
}

export interface GateVerdict {
  passed: boolean;
  score: number | null;
  threshold: number;
  kpis: KpiResult[];
  /** Plain-words reasons for a failure; empty when passed. */
  reasons: string[];
}

/**
 * A transition gate passes when every mandatory KPI is at or better than its minimum (a missing value is not a
 * pass) and the weighted score reaches the threshold.
 */
export function evaluateGate(
  kpis: KpiDefinition[],
  values: Record<string, number | undefined>,
  threshold: number,
  /** KPIs counted as missing because their figures cover only part of the window (`measuredForGate`). */
  partly: Record<string, { measuredDays: number; days: number }> = {},
): GateVerdict {
  const results = kpis.map((k) => scoreKpi(k, values[k.key] ?? null));
  const score = weightedScore(kpis, results);
  const reasons: string[] = [];
  for (const r of results) {
    const part = partly[r.key];
    if (r.status === 'missing' && part && (r.mandatory || score === null || score < threshold))
      reasons.push(
        `${r.key}: figures cover ${part.measuredDays} of the gate window's ${part.days} days; every finished period must be reported`,
      );
    else if (!r.mandatory) continue;
    else if (r.status === 'missing') reasons.push(`${r.key}: no measurement in the gate window`);
    else if (r.status === 'breached') reasons.push(`${r.key}: ${r.value} is worse than the minimum ${r.minimum}`);
  }
  if (score === null) reasons.push('no KPIs to score');
  else if (score < threshold) reasons.push(`weighted score ${score} is below the gate threshold ${threshold}`);
  return { passed: reasons.length === 0, score, threshold, kpis: results, reasons };
}

/** One KPI value as submitted, for the days of its own period (inclusive `YYYY-MM-DD` dates). */
export interface DatedValue {
  value: number;
  periodStart: string;
  periodEnd: string;
}

const DAY = 86_400_000;

/**
 * The mean of one KPI over a window (inclusive `YYYY-MM-DD` dates), by day: each day of the window takes the value of
 * the last submitted measurement whose period covers it (`measurements` in submission order), and days no
 * measurement covers do not count. A week that runs from one month into the next counts in both months, for its days
 * in each; values for short periods inside a longer one replace it for their days only, as a correction would,
 * instead of outvoting it.
 */
export function windowMean(from: string, to: string, measurements: DatedValue[]): number | undefined {
  return windowMeasure(from, to, measurements).mean;
}

/** A KPI over a window: its by-day mean (see `windowMean`), and how many of the window's days were measured. */
export interface WindowMeasure {
  mean: number | undefined;
  days: number;
  measuredDays: number;
  /** Days before the window's first measured day, and after its last. */
  unmeasuredAtStart: number;
  unmeasuredAtEnd: number;
}

export function windowMeasure(from: string, to: string, measurements: DatedValue[]): WindowMeasure {
  const start = Date.parse(`${from}T00:00:00Z`);
  const days = Math.round((Date.parse(`${to}T00:00:00Z`) - start) / DAY) + 1;
  if (!(days > 0)) return { mean: undefined, days: 0, measuredDays: 0, unmeasuredAtStart: 0, unmeasuredAtEnd: 0 };
  const byDay = new Array<number | undefined>(days);
  for (const m of measurements) {
    const first = Math.max(0, Math.round((Date.parse(`${m.periodStart}T00:00:00Z`) - start) / DAY));
    const last = Math.min(days - 1, Math.round((Date.parse(`${m.periodEnd}T00:00:00Z`) - start) / DAY));
    for (let d = first; d <= last; d++) byDay[d] = m.value;
  }
  const covered = byDay.filter((v): v is number => v !== undefined);
  const first = byDay.findIndex((v) => v !== undefined);
  const last = days - 1 - [...byDay].reverse().findIndex((v) => v !== undefined);
  return {
    mean: covered.length ? round4(covered.reduce((a, b) => a + b, 0) / covered.length) : undefined,
    days,
    measuredDays: covered.length,
    unmeasuredAtStart: first === -1 ? days : first,
    unmeasuredAtEnd: first === -1 ? days : days - 1 - last,
  };
}

/**
 * Whether a review may score a KPI from what was measured of its period: every day must be, since a day without data
 * is missing data (one good day sent for a month would otherwise stand for the month). Only `forgiven` days at an edge
 * may be left: those of a week (Monday to Sunday) that runs over the edge, when its figure cannot be there yet
 * (`forgivenWeekDays`). None in between.
 */
export function measuredEnough(m: WindowMeasure, forgiven: { atStart: number; atEnd: number }): boolean {
  if (m.measuredDays === m.days) return true;
  return (
    m.measuredDays > 0 &&
    m.measuredDays === m.days - m.unmeasuredAtStart - m.unmeasuredAtEnd &&
    m.unmeasuredAtStart <= forgiven.atStart &&
    m.unmeasuredAtEnd <= forgiven.atEnd
  );
}

/**
 * Whether a gate may judge a KPI from its figures over the window [from, to] (dates): every day before
 * `openFrom` must be measured (a wave is not proven on a few days' figures), and some day must be. From `openFrom` on
 * lie the days of the KPI's period still running at the gate, or ended too recently for its figure to be due: they
 * may be missing, or measured in part. `whole` is the window's measure, when the caller has it already.
 */
export function measuredForGate(
  from: string,
  to: string,
  openFrom: string,
  measurements: DatedValue[],
  whole: WindowMeasure = windowMeasure(from, to, measurements),
): boolean {
  if (!(whole.measuredDays > 0)) return false;
  if (openFrom <= from) return true;
  const lastDue = new Date(Date.parse(`${openFrom}T00:00:00Z`) - DAY).toISOString().slice(0, 10);
  const due = windowMeasure(from, lastDue < to ? lastDue : to, measurements);
  return due.measuredDays === due.days;
}

/**
 * The days of a period [from, to] (dates) that a weekly KPI's review may leave unmeasured: at its start, the days of a
 * week begun before it, in the first period reviewed only (reviews began mid-week: that week's figure covers days
 * before them); at its end, the days of a week that runs past it and had not ended when the review was due (its
 * figure cannot exist yet). Any other week, the one over an edge included, must have been sent: it ended before the
 * review, or an earlier review was due after it.
 */
export function forgivenWeekDays(
  from: string,
  to: string,
  firstReviewed: boolean,
  lastWeekEndedBeforeReview: (weekEndsOn: string) => boolean,
): { atStart: number; atEnd: number } {
  const isoWeekday = (date: string) => ((new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7) + 1;
  const startDay = isoWeekday(from);
  const endDay = isoWeekday(to);
  // The Monday after the week holding `to`: that week ends when it starts.
  const weekEndsOn = new Date(Date.parse(`${to}T00:00:00Z`) + (8 - endDay) * DAY).toISOString().slice(0, 10);
  return {
    atStart: firstReviewed && startDay !== 1 ? 8 - startDay : 0,
    atEnd: endDay !== 7 && !lastWeekEndedBeforeReview(weekEndsOn) ? endDay : 0,
  };
}

function clamp(pct: number): number {
  return Math.max(0, Math.min(100, pct));
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function round4(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
