/**
 * Service credits: what the vendor owes for a month's missed service levels. Two models, chosen per KPI: tiers of the
 * shortfall from target, each a percentage of the fee; or Texas DIR's allocation (at-risk amount × pool × the KPI's
 * allocation, owed when the KPI is worse than its minimum). The month's total is capped at the amount at risk. Tiers,
 * allocations and the cap are data (the engagement's); the arithmetic is shown line by line. Money in integer cents:
 * exact. Pure.
 */
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
  const short = input.shortMonth;
  const fee = short ? Math.round((input.monthlyFeeCents * short.days) / short.of) : input.monthlyFeeCents;
  const prorating = short
    ? [
        `fee for ${short.days} of ${short.of} days (the service ended): ${money(input.monthlyFeeCents, input.currency)} × ${short.days}/${short.of} = ${money(fee, input.currency)}`,
      ]
    : [];
  // Each line names the fee it takes a share of: a short month's says whose days it is.
  const feeText = money(fee, input.currency) + (short ? ` (the fee for ${short.days} of ${short.of} days)` : '');
  // Exact amounts in 10⁻¹² cents (percentages have 2 decimals): a tier's and the cap's percentage of the fee, and an
  // allocation's product of three.
  const capExact = BigInt(fee) * hundredths(input.atRiskPct) * 10n ** 8n;
  const capCents = toCents(capExact);
  const raw: ExactLine[] = [];
  for (const kpi of input.kpis) {
    const value = input.values[kpi.key] ?? null;
    if (kpi.allocationPct != null) {
      const line = allocatedCredit(kpi, value, {
        ...input,
        monthlyFeeCents: fee,
        feeText,
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
    const amountCents = toCents(exact);
    const why = value === null ? 'no data (counts as the worst tier)' : `shortfall ${gap} from target ${kpi.target}`;
    const bound = tier.maxShortfall === null ? 'beyond the last bound' : `≤ ${tier.maxShortfall}`;
    raw.push({
      key: kpi.key,
      amountCents,
      exact,
      arithmetic: `${kpi.key}: ${why} → tier ${bound} → ${tier.creditPct}% × ${feeText} = ${money(amountCents, input.currency)}`,
    });
  }
  const uncapped = raw.reduce((sum, l) => sum + l.amountCents, 0);
  const uncappedExact = raw.reduce((sum, l) => sum + l.exact, 0n);
  const arithmetic = [...prorating, ...raw.map((l) => l.arithmetic)];
  const strip = ({ exact: _exact, ...line }: ExactLine): CreditLine => line;
  // (The lines rounded one by one may pass the cap by a cent that their exact sum does not: the cap still holds.)
  if (uncappedExact <= capExact && uncapped <= capCents) {
    arithmetic.push(
      `total ${money(uncapped, input.currency)} (cap ${input.atRiskPct}% = ${money(capCents, input.currency)} not reached)`,
    );
    return { lines: raw.map(strip), totalCents: uncapped, capCents, capped: false, arithmetic };
  }
  // Over the cap: each line keeps its exact share of the cap, and the cents the shares' rounding down leaves go to
  // the lines with the largest remainders (the earlier line on a tie).
  const shares = raw.map((l, i) => {
    const scaled = l.exact * BigInt(capCents);
    return { i, cents: scaled / uncappedExact, remainder: scaled % uncappedExact };
  });
  let left = capCents - shares.reduce((sum, x) => sum + Number(x.cents), 0);
  for (const x of [...shares].sort((a, b) => (b.remainder > a.remainder ? 1 : b.remainder < a.remainder ? -1 : 0))) {
    if (left-- <= 0) break;
    x.cents += 1n;
  }
  const lines = raw.map((l, i) => {
    const amountCents = Number(shares[i].cents);
    return {
      ...strip(l),
      amountCents,
      arithmetic: `${l.arithmetic} → ${money(amountCents, input.currency)} after the cap`,
    };
  });
  arithmetic.push(
    `total ${money(uncapped, input.currency)} exceeds the cap ${input.atRiskPct}% × ${feeText} = ${money(capCents, input.currency)}: capped`,
  );
  return { lines, totalCents: capCents, capCents, capped: true, arithmetic };
}

type ExactLine = CreditLine & { exact: bigint };

/** A percentage with 2 decimals as a whole number of hundredths. */
function hundredths(pct: number): bigint {
  return BigInt(Math.round(pct * 100));
}

/** 10⁻¹² cents to cents, half up. */
function toCents(exact: bigint): number {
  const unit = 10n ** 12n;
  return Number((exact + unit / 2n) / unit);
}

/**
 * The Texas DIR chain for one breached KPI: its allocation of the pool, the pool's share of the amount at risk, that
 * amount's share of the monthly fee. Exact: the percentages have 2 decimals, so the product is a whole number of
 * 10⁻¹² cents, rounded half up to the cent.
 */
function allocatedCredit(
  kpi: CreditableKpi,
  value: number | null,
  terms: { monthlyFeeCents: number; feeText: string; atRiskPct: number; poolPct: number; currency: string },
): ExactLine | null {
  if (kpi.minimum === undefined || kpi.allocationPct == null)
    throw new Error(`${kpi.key}: an allocated credit needs the KPI's minimum and its allocation`);
  const worse = value === null ? Infinity : shortfall({ direction: kpi.direction, target: kpi.minimum }, value);
  if (worse === 0) return null;
  const exact =
    BigInt(terms.monthlyFeeCents) *
    hundredths(terms.atRiskPct) *
    hundredths(terms.poolPct) *
    hundredths(kpi.allocationPct);
  const amountCents = toCents(exact);
  const why = value === null ? 'no data (a breach)' : `${value} worse than minimum ${kpi.minimum}`;
  const chain = `${terms.atRiskPct}% at risk × ${terms.poolPct}% pool × ${kpi.allocationPct}% allocation`;
  return {
    key: kpi.key,
    amountCents,
    exact,
    arithmetic: `${kpi.key}: ${why} → ${chain} × ${terms.feeText} = ${money(amountCents, terms.currency)}`,
  };
}

export function money(cents: number, currency: string): string {
  return `${currency} ${(cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
