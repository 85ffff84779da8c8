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

export function attainment(direction: KpiDirection, value: number, target: number): number {
  if (direction === 'HIGHER_IS_BETTER') return target === 0 ? 100 : clamp((value / target) * 100);
  if (value <= 0) return 100;
  return clamp((target / value) * 100);
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
    attainment: value === null ? 0 : round2(attainment(kpi.direction, value, kpi.target)),
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
): GateVerdict {
  const results = kpis.map((k) => scoreKpi(k, values[k.key] ?? null));
  const score = weightedScore(kpis, results);
  const reasons: string[] = [];
  for (const r of results) {
    if (!r.mandatory) continue;
    if (r.status === 'missing') reasons.push(`${r.key}: no measurement in the gate window`);
    else if (r.status === 'breached') reasons.push(`${r.key}: ${r.value} is worse than the minimum ${r.minimum}`);
  }
  if (score === null) reasons.push('no KPIs to score');
  else if (score < threshold) reasons.push(`weighted score ${score} is below the gate threshold ${threshold}`);
  return { passed: reasons.length === 0, score, threshold, kpis: results, reasons };
}

/** Mean of the values measured for one KPI in a window (several weekly submissions in a month, say). */
export function meanValue(values: number[]): number | undefined {
  return values.length ? round4(values.reduce((a, b) => a + b, 0) / values.length) : undefined;
}

/**
 * Mean of the values measured for one KPI in a review period, each weighted by the days its own period shares with
 * the review's: a week that runs from one month into the next counts in both months, for its days in each.
 */
export function periodMean(measurements: Array<{ value: number; days: number }>): number | undefined {
  const counted = measurements.filter((m) => m.days > 0);
  const days = counted.reduce((sum, m) => sum + m.days, 0);
  return days ? round4(counted.reduce((sum, m) => sum + m.value * m.days, 0) / days) : undefined;
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
