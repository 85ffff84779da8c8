/** Renewal and exit as data and rules: milestone dates, the recommendation, the standard exit steps. Pure. */
import { DateTime, IANAZone } from 'luxon';
import { RENEWAL_ALERT_DAYS } from './defaults';
import type { RENEWAL_DECISIONS } from './types';

export type RenewalDecisionKind = (typeof RENEWAL_DECISIONS)[number];

const DAY_MS = 86_400_000;

/** How long before the notice deadline the evaluation starts, so the executive has time to decide. */
export const EVALUATION_LEAD_DAYS = 60;
/** With no decision this many days before the notice deadline, the governance council is asked. */
export const COUNCIL_ESCALATION_DAYS = 14;

export interface RenewalMilestones {
  evaluationAt: string;
  councilEscalationAt: string;
  noticeDeadline: string;
  termEnd: string;
}

/**
 * The term a renewal opens: it starts where the last one ended and is as long on the calendar. A term of whole
 * months (2024-01-01 to 2025-01-01, a leap year) renews for as many months (to 2026-01-01, not 2026-01-02); any other
 * term for as many days.
 */
export function nextTerm(termStart: string, termEnd: string): { termStart: string; termEnd: string } {
  const start = DateTime.fromISO(termStart, { zone: 'utc' });
  const end = DateTime.fromISO(termEnd, { zone: 'utc' });
  const months = Math.round(end.diff(start, 'months').months);
  const next = start.plus({ months }).equals(end)
    ? end.plus({ months })
    : end.plus({ milliseconds: end.toMillis() - start.toMillis() });
  return { termStart: end.toISO()!, termEnd: next.toISO()! };
}

/**
 * Evaluation at contract end − notice period − lead time; the decision is due at contract end − notice period.
 * Counted in calendar days of the engagement's time zone: a term ending on 2029-01-01 with 90 days' notice has its
 * decision due before 2028-10-03 there, so the deadline is that day's first moment in that zone (in Los Angeles
 * 07:00 UTC, not the evening before). Instants in another zone than UTC carry its offset, so their first ten
 * characters are the local date. The term end itself stays as given.
 */
export function renewalMilestones(
  termEnd: string,
  noticeDays: number,
  leadDays = EVALUATION_LEAD_DAYS,
  timeZone = 'UTC',
): RenewalMilestones {
  const before = daysBefore(termEnd, timeZone);
  return {
    evaluationAt: before(noticeDays + leadDays),
    councilEscalationAt: before(noticeDays + Math.min(COUNCIL_ESCALATION_DAYS, leadDays)),
    noticeDeadline: before(noticeDays),
    termEnd: DateTime.fromISO(termEnd, { zone: 'utc' }).toISO()!,
  };
}

/** A renewal alert: the notice deadline is `daysBefore` days away at `at`. */
export interface RenewalAlert {
  daysBefore: number;
  at: string;
}

/**
 * The notice deadline alone, as epoch milliseconds: what `renewalMilestones` gives as `noticeDeadline`, without
 * building the other milestones and their ISO strings (a lifecycle start checks it on every request).
 */
export function noticeDeadlineMs(termEnd: Date, noticeDays: number, timeZone = 'UTC'): number {
  return onClock(DateTime.fromJSDate(termEnd, { zone: 'utc' }).minus({ days: noticeDays }), timeZone);
}

/**
 * When the executive is reminded of the notice deadline ahead of it (`alertDays`, the common 120/90/60/30 days), in
 * order, counted on the calendar as the milestones are. The alert that falls on the evaluation is left out: the
 * evaluation's own notice names the deadline that day.
 */
export function renewalAlerts(
  termEnd: string,
  noticeDays: number,
  leadDays = EVALUATION_LEAD_DAYS,
  timeZone = 'UTC',
  alertDays: readonly number[] = RENEWAL_ALERT_DAYS,
): RenewalAlert[] {
  const before = daysBefore(termEnd, timeZone);
  return [...alertDays]
    .filter((days) => days > 0 && days !== leadDays)
    .sort((a, b) => b - a)
    .map((days) => ({ daysBefore: days, at: before(noticeDays + days) }));
}

/**
 * The instant so many days before the term end: counted back on the calendar from the term end's date, then read on
 * the zone's clock at the term end's time of day (in UTC, as given), not carried from another date, whose clocks may
 * change at midnight. A midnight that is skipped reads as the moment after (01:00), one that comes twice as the
 * second, as PostgreSQL reads them (the start statement checks the same deadline).
 */
function daysBefore(termEnd: string, timeZone: string): (days: number) => string {
  const end = DateTime.fromISO(termEnd, { zone: 'utc' });
  return (days) => DateTime.fromMillis(onClock(end.minus({ days }), timeZone), { zone: timeZone }).toISO()!;
}

/**
 * The instant a wall-clock time (given as a UTC DateTime's fields) reads in `timeZone`: where the clocks skip it, the
 * moment it would have been on the offset before (01:00 for a skipped midnight); where it comes twice, the later.
 * Worked out from the zone's offsets alone, so it does not depend on when it is asked (luxon's `fromObject` picks
 * between two readings by the offset in force today).
 */
function onClock(wall: DateTime, timeZone: string): number {
  const zone = IANAZone.create(timeZone);
  const asUtc = wall.toMillis();
  const readings = [zone.offset(asUtc - DAY_MS), zone.offset(asUtc + DAY_MS)]
    .map((offsetMinutes) => asUtc - offsetMinutes * 60_000)
    .filter((t) => t + zone.offset(t) * 60_000 === asUtc);
  return readings.length ? Math.max(...readings) : asUtc - zone.offset(asUtc - DAY_MS) * 60_000;
}

/** The middle value (the mean of the two middle ones for an even count), or null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface RenewalScorecard {
  /** Share of KPI-months whose target was met (0–100), overall and per KPI. */
  attainmentPct: number | null;
  attainmentByKpi: Record<string, number>;
  /** Share of KPI-months at or better than the minimum: target met, or missed within the minimum (credits owed). */
  minimumHeldPct: number | null;
  /** Overall monthly scores of the last two quarters, oldest first. */
  recentScores: number[];
  creditsPaid: string;
  escalationsBySeverity: Record<string, number>;
  medianHoursToResolve: number | null;
  openActionItems: number;
  certificationsExpiring: string[];
}

export interface Recommendation {
  recommendation: RenewalDecisionKind;
  reasons: string[];
}

/**
 * Renew when targets were met consistently and nothing blocks; renegotiate when they slipped (a target missed within
 * its minimum still owes credits); exit when even the minimums failed.
 */
export function recommendRenewal(s: RenewalScorecard): Recommendation {
  const reasons: string[] = [];
  const attainment = s.attainmentPct;
  const held = s.minimumHeldPct;
  if (attainment === null) reasons.push('no service-level data over the term');
  else
    reasons.push(
      `targets were met in ${attainment}% of KPI-months` +
        (held !== null && held !== attainment ? `, minimums held in ${held}%` : ''),
    );
  const trend = s.recentScores.length >= 2 ? s.recentScores[s.recentScores.length - 1] - s.recentScores[0] : 0;
  if (trend < -5)
    reasons.push(`the overall score fell ${Math.abs(Math.round(trend))} points over the last two quarters`);
  if (Number(s.creditsPaid) > 0) reasons.push(`service credits of ${s.creditsPaid} were owed over the term`);
  const p1 = s.escalationsBySeverity.P1 ?? 0;
  if (p1 > 0) reasons.push(`${p1} P1 escalation(s) during the term`);
  if (s.openActionItems > 0) reasons.push(`${s.openActionItems} action item(s) still open`);
  if (s.certificationsExpiring.length)
    reasons.push(`certifications expiring before the next term would end: ${s.certificationsExpiring.join(', ')}`);

  if (attainment === null || (held ?? attainment) < 70) return { recommendation: 'EXIT', reasons };
  if (attainment < 90 || trend < -5 || p1 > 2 || s.certificationsExpiring.length > 0)
    return { recommendation: 'RENEGOTIATE', reasons };
  return { recommendation: 'RENEW', reasons };
}

export const EXIT_STEP_KINDS = [
  'KNOWLEDGE_RETRANSFER',
  'DATA_RETURN_AND_DELETION',
  'IP_AND_ASSET_HANDOVER',
  'ACCESS_REVOCATION',
  'FINAL_RECONCILIATION',
] as const;
export type ExitStepKind = (typeof EXIT_STEP_KINDS)[number];

export interface ExitStepPlan {
  kind: ExitStepKind;
  owner: string;
  dueOn: string;
}

/** The vendor's own exit steps; the others (access revocation, the final reconciliation) are the client's. */
export function vendorOwned(step: Pick<ExitStepPlan, 'owner'>): boolean {
  return step.owner.startsWith('vendor');
}

/** Who carries out each step of the standard exit plan: the vendor hands back, the client closes. */
export const EXIT_STEP_OWNERS: Record<ExitStepKind, string> = {
  KNOWLEDGE_RETRANSFER: 'vendor delivery head',
  DATA_RETURN_AND_DELETION: 'vendor security officer',
  IP_AND_ASSET_HANDOVER: 'vendor account manager',
  ACCESS_REVOCATION: 'client IT security',
  FINAL_RECONCILIATION: 'client finance',
};

/**
 * What completing a step must carry, where the exit obligation is a certificate rather than a handover someone
 * can watch: data is returned and its deletion certified, so the step is done only with the certificate's reference.
 */
export const EXIT_STEP_EVIDENCE: Partial<Record<ExitStepKind, string>> = {
  DATA_RETURN_AND_DELETION: 'the reference of the certificate of data deletion',
};

/** Why completing `kind` with this evidence is refused, or null when it may be completed. */
export function missingExitEvidence(kind: ExitStepKind, evidence: string | undefined): string | null {
  const needed = EXIT_STEP_EVIDENCE[kind];
  return needed && !evidence?.trim() ? `is required to complete ${kind}: ${needed}` : null;
}

/**
 * The standard exit plan, its steps spread over the time left before the exit date: knowledge first, the final
 * reconciliation last.
 */
export function exitPlan(startMs: number, exitAtMs: number, timeZone?: string): ExitStepPlan[] {
  const span = Math.max(exitAtMs - startMs, 5 * DAY_MS);
  return EXIT_STEP_KINDS.map((kind, i) => {
    const at = startMs + Math.round((span * (i + 1)) / EXIT_STEP_KINDS.length);
    // (Without a zone, as plans were made before: due at that instant, stored as its UTC date.)
    return {
      kind,
      owner: EXIT_STEP_OWNERS[kind],
      dueOn: timeZone ? dueByEndOfDay(at, timeZone) : new Date(at).toISOString(),
    };
  });
}

/**
 * A step spread to `atMs` is due by the end of that day in the engagement's zone (the day of the instant just before
 * it, as a service's last day is: a step spread to the exit date is due on the service's last day), so that the date
 * shown and the moment it becomes overdue agree: "due 10 May" is overdue at midnight after the 10th, there.
 */
export function dueByEndOfDay(atMs: number, timeZone: string): string {
  return endOfDueDay(DateTime.fromMillis(atMs - 1, { zone: timeZone }).toISODate()!, timeZone);
}

/** The last instant of a due day (YYYY-MM-DD) in the zone. */
export function endOfDueDay(day: string, timeZone: string): string {
  return DateTime.fromISO(day, { zone: timeZone }).endOf('day').toUTC().toISO()!;
}

/**
 * When a stored step becomes overdue: the instant its plan gave it; for a plan stored before that was kept, the end of
 * its date in UTC (the date was that instant's UTC date).
 */
export function storedDueAt(step: { dueOn: Date; dueAt: Date | null }): string {
  return step.dueAt?.toISOString() ?? endOfUtcDate(step.dueOn.toISOString());
}

/** The last instant of the UTC date an ISO date or instant starts with: how plans before `dueAt` were due. */
export function endOfUtcDate(day: string): string {
  return `${day.slice(0, 10)}T23:59:59.999Z`;
}

/** The day, in the zone, a step due at `dueOn` (an instant) is due on. */
export function dueDay(dueOn: string, timeZone: string): string {
  return DateTime.fromISO(dueOn, { zone: timeZone }).toISODate()!;
}
