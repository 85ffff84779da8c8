/** Closed sets of the domain, as plain string unions shared by workflows (which cannot import Prisma) and the API. */
export const SEVERITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const DELIVERY_MODELS = ['ONSHORE', 'NEARSHORE', 'OFFSHORE'] as const;
export const SERVICE_LINES = ['FRONT_OFFICE', 'BACK_OFFICE', 'ITES', 'KPO', 'LPO', 'RPO'] as const;
export const CERTIFICATION_KINDS = ['ISO_27001', 'SOC_2', 'PCI_DSS', 'HIPAA', 'OTHER'] as const;
export const SOURCING_APPROACHES = ['STRATEGIC', 'TACTICAL'] as const;
export const RENEWAL_DECISIONS = ['RENEW', 'RENEGOTIATE', 'EXIT'] as const;
export const KPI_DIRECTIONS = ['HIGHER_IS_BETTER', 'LOWER_IS_BETTER'] as const;
export type KpiDirection = (typeof KPI_DIRECTIONS)[number];
export const MEASUREMENT_PERIODS = ['WEEKLY', 'MONTHLY', 'QUARTERLY'] as const;
export type MeasurementPeriod = (typeof MEASUREMENT_PERIODS)[number];
export const COUNCIL_ROLES = ['EXECUTIVE_SPONSOR', 'PROGRAM_MANAGER', 'FINANCE', 'LEGAL', 'MEMBER'] as const;
export const REVIEW_CADENCES = ['WEEKLY', 'MONTHLY', 'QUARTERLY', 'ANNUAL'] as const;
export type ReviewCadence = (typeof REVIEW_CADENCES)[number];

/**
 * The cadences shortest first, each once. Governance runs reviews due at the same instant in this order, so a
 * quarter's review, due with its last month's, comes after it and sums it.
 */
export function shortestCadenceFirst(cadences: readonly ReviewCadence[]): ReviewCadence[] {
  return REVIEW_CADENCES.filter((c) => cadences.includes(c));
}
/** Which KPIs a review of each cadence scores: a weekly review cannot judge a monthly figure before the month ends. */
export const SCORED: Record<ReviewCadence, MeasurementPeriod[]> = {
  WEEKLY: ['WEEKLY'],
  MONTHLY: ['WEEKLY', 'MONTHLY'],
  QUARTERLY: ['WEEKLY', 'MONTHLY', 'QUARTERLY'],
  ANNUAL: ['WEEKLY', 'MONTHLY', 'QUARTERLY'],
};

/**
 * The review that raises a KPI's breach: the one of its own period, or, with no such review, the shortest that
 * scores it (a weekly figure on an engagement reviewed monthly escalates from the monthly review).
 */
export function reviewerOf(period: MeasurementPeriod, cadences: readonly ReviewCadence[]): ReviewCadence | undefined {
  if (cadences.includes(period)) return period;
  return shortestCadenceFirst(cadences).find((c) => SCORED[c].includes(period));
}

export const ROLES = ['ADMIN', 'PROGRAM_MANAGER', 'EXECUTIVE', 'VENDOR', 'VIEWER'] as const;
export const ESCALATION_STATUSES = ['OPEN', 'ACKNOWLEDGED', 'RESOLVED'] as const;

/** True when `value` is at or better than `threshold` for a KPI of this direction. */
export function meets(direction: KpiDirection, value: number, threshold: number): boolean {
  return direction === 'HIGHER_IS_BETTER' ? value >= threshold : value <= threshold;
}
