/**
 * Service credits: what the vendor owes for a month's missed service levels. Two models, chosen per KPI: tiers of the
 * shortfall from target, each a percentage of the fee; or Texas DIR's allocation (at-risk amount × pool × the KPI's
 * allocation, owed when the KPI is worse than its minimum). The month's total is capped at the amount at risk. Tiers,
 * allocations and the cap are data (the engagement's); the arithmetic is shown line by line. Money in whole units of
 * the currency's smallest unit (the cent; the yen itself), returned in cents: exact. Pure.
 */
import { centsPerMinorUnit, money } from './money';
import type { KpiDirection } from './types';

export interface CreditTier {
  /** Shortfall from target, in the KPI's unit, that this tier covers; null = any larger shortfall. */
  maxShortfall: number | null;
  creditPct: number;
}

export interface CreditableKpi {
  key: string;
  direction: KpiDirection;
  target: number;
  tiers: CreditTier[];
  /** Worst acceptable value: an allocated credit is owed when the month is worse than it. */
  minimum?: number;
  /**
   * Share of the credit pool this KPI carries (Texas DIR's allocation), owed whole in a month it is breached
   * (worse than `minimum`, or no data): fee × at-risk × pool × allocation. Set, it replaces the tiers.
   */
  allocationPct?: number | null;
}

export interface CreditLine {
  key: string;
  /** Cents, after the cap has been shared out. */
  amountCents: number;
  arithmetic: string;
}

export interface CreditResult {
  lines: CreditLine[];
  totalCents: number;
  capCents: number;
  capped: boolean;
  arithmetic: string[];
}

/**
 * Shortfall from target (positive = worse than target); missing data is the worst case. Rounded to the 4 decimals
 * KPI values and targets are stored with, so that a tier bound holds exactly as written: 99.9 − 99.8 is a shortfall
 * of 0.1 (within a "≤ 0.1" tier), not the 0.10000000000000853 floating point makes of it.
 */
export function shortfall(kpi: Pick<CreditableKpi, 'direction' | 'target'>, value: number | null): number {
  if (value === null) return Infinity;
  return Math.max(0, round(kpi.direction === 'HIGHER_IS_BETTER' ? kpi.target - value : value - kpi.target));
}

export function computeServiceCredits(input: {
  kpis: CreditableKpi[];
  values: Record<string, number | null>;
  monthlyFeeCents: number;
  atRiskPct: number;
  /** Share of the at-risk amount pooled for the allocated KPIs (100 unless the contract says otherwise). */
  poolPct?: number;
  currency: string;
  /** A month the service's end cuts short: credits are owed on the fee for the days it ran. */
  shortMonth?: { days: number; of: number };
}): CreditResult {
  // Computed in the currency's smallest unit (the cent, or the whole yen), returned in cents.
  const step = centsPerMinorUnit(input.currency);
  const show = (units: number) => money(units * step, input.currency);
  const short = input.shortMonth;
  const whole = Math.round(input.monthlyFeeCents / step);
  const fee = short ? Math.round((whole * short.days) / short.of) : whole;
  const prorating = short
    ? [
        `fee for ${short.days} of ${short.of} days (the service ended): ${show(whole)} × ${short.days}/${short.of} = ${show(fee)}`,
      ]
    : [];
  // Each line names the fee it takes a share of: a short month's says whose days it is.
  const feeText = show(fee) + (short ? ` (the fee for ${short.days} of ${short.of} days)` : '');
  // Exact amounts in 10⁻¹² units (percentages have 2 decimals): a tier's and the cap's percentage of the fee, and an
  // allocation's product of three.
  const capExact = BigInt(fee) * hundredths(input.atRiskPct) * 10n ** 8n;
  const cap = toUnits(capExact);
  const raw: ExactLine[] = [];
  for (const kpi of input.kpis) {
    const value = input.values[kpi.key] ?? null;
    if (kpi.allocationPct != null) {
      const line = allocatedCredit(kpi, value, {
        ...input,
        fee,
        feeText,
        show,
        poolPct: input.poolPct ?? 100,
      });
      if (line) raw.push(line);
      continue;
    }
    const gap = shortfall(kpi, value);
    if (gap === 0 || kpi.tiers.length === 0) continue;
    const tiers = [...kpi.tiers].sort((a, b) => (a.maxShortfall ?? Infinity) - (b.maxShortfall ?? Infinity));
    const tier = tiers.find((t) => t.maxShortfall === null || gap <= t.maxShortfall) ?? tiers[tiers.length - 1];
    const exact = BigInt(fee) * hundredths(tier.creditPct) * 10n ** 8n;
    const units = toUnits(exact);
    const why = value === null ? 'no data (counts as the worst tier)' : `shortfall ${gap} from target ${kpi.target}`;
    const bound = tier.maxShortfall === null ? 'beyond the last bound' : `≤ ${tier.maxShortfall}`;
    raw.push({
      key: kpi.key,
      units,
      exact,
      arithmetic: `${kpi.key}: ${why} → tier ${bound} → ${tier.creditPct}% × ${feeText} = ${show(units)}`,
    });
  }
  const uncapped = raw.reduce((sum, l) => sum + l.units, 0);
  const uncappedExact = raw.reduce((sum, l) => sum + l.exact, 0n);
  const arithmetic = [...prorating, ...raw.map((l) => l.arithmetic)];
  const inCents = (l: ExactLine): CreditLine => ({ key: l.key, amountCents: l.units * step, arithmetic: l.arithmetic });
  // (The lines rounded one by one may pass the cap by a unit that their exact sum does not: the cap still holds.)
  if (uncappedExact <= capExact && uncapped <= cap) {
    arithmetic.push(`total ${show(uncapped)} (cap ${input.atRiskPct}% = ${show(cap)} not reached)`);
    return {
      lines: raw.map(inCents),
      totalCents: uncapped * step,
      capCents: cap * step,
      capped: false,
      arithmetic,
    };
  }
  // Over the cap: each line keeps its exact share of the cap, and the units the shares' rounding down leaves go to
  // the lines with the largest remainders (the earlier line on a tie).
  const shares = raw.map((l, i) => {
    const scaled = l.exact * BigInt(cap);
    return { i, units: scaled / uncappedExact, remainder: scaled % uncappedExact };
  });
  let left = cap - shares.reduce((sum, x) => sum + Number(x.units), 0);
  for (const x of [...shares].sort((a, b) => (b.remainder > a.remainder ? 1 : b.remainder < a.remainder ? -1 : 0))) {
    if (left-- <= 0) break;
    x.units += 1n;
  }
  const lines = raw.map((l, i) => {
    const units = Number(shares[i].units);
    return inCents({ ...l, units, arithmetic: `${l.arithmetic} → ${show(units)} after the cap` });
  });
  arithmetic.push(`total ${show(uncapped)} exceeds the cap ${input.atRiskPct}% × ${feeText} = ${show(cap)}: capped`);
  return { lines, totalCents: cap * step, capCents: cap * step, capped: true, arithmetic };
}

/** A line as computed: its amount in the currency's smallest unit, and exact in 10⁻¹² of it. */
type ExactLine = { key: string; units: number; exact: bigint; arithmetic: string };

/** A percentage with 2 decimals as a whole number of hundredths. */
function hundredths(pct: number): bigint {
  return BigInt(Math.round(pct * 100));
}

/** 10⁻¹² units to whole units, half up. */
function toUnits(exact: bigint): number {
  const unit = 10n ** 12n;
  return Number((exact + unit / 2n) / unit);
}

/**
 * The Texas DIR chain for one breached KPI: its allocation of the pool, the pool's share of the amount at risk, that
 * amount's share of the monthly fee. Exact: the percentages have 2 decimals, so the product is a whole number of
 * 10⁻¹² units, rounded half up.
 */
function allocatedCredit(
  kpi: CreditableKpi,
  value: number | null,
  terms: { fee: number; feeText: string; show: (units: number) => string; atRiskPct: number; poolPct: number },
): ExactLine | null {
  if (kpi.minimum === undefined || kpi.allocationPct == null)
    throw new Error(`${kpi.key}: an allocated credit needs the KPI's minimum and its allocation`);
  const worse = value === null ? Infinity : shortfall({ direction: kpi.direction, target: kpi.minimum }, value);
  if (worse === 0) return null;
  const exact =
    BigInt(terms.fee) * hundredths(terms.atRiskPct) * hundredths(terms.poolPct) * hundredths(kpi.allocationPct);
  const units = toUnits(exact);
  const why = value === null ? 'no data (a breach)' : `${value} worse than minimum ${kpi.minimum}`;
  const chain = `${terms.atRiskPct}% at risk × ${terms.poolPct}% pool × ${kpi.allocationPct}% allocation`;
  return {
    key: kpi.key,
    units,
    exact,
    arithmetic: `${kpi.key}: ${why} → ${chain} × ${terms.feeText} = ${terms.show(units)}`,
  };
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
