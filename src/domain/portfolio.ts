/**
 * What the portfolio view says about one engagement: its health and its next milestone. Pure: the API feeds it
 * facts from PostgreSQL and the instant it works from.
 */
import { DateTime } from 'luxon';
import { firstPeriodFrom, periodAt, type Period } from './calendar';
import { endOfUtcDate, renewalMilestones } from './renewal';
import type { LifecycleStage } from './lifecycle';
import type { ReviewCadence, Severity } from './types';

export const HEALTHS = ['GOOD', 'AT_RISK', 'CRITICAL'] as const;
export type Health = (typeof HEALTHS)[number];

/** A weighted score below the default gate threshold is at risk; this far below it is critical. */
export const AT_RISK_BELOW = 95;
export const CRITICAL_BELOW = 85;

export interface EngagementFacts {
  stage: LifecycleStage;
  termEnd: string;
  renewalNoticeDays: number;
  timeZone: string;
  reviewCadences: ReviewCadence[];
  reviewGraceSeconds: number;
  /**
   * When the engagement first reached steady state, where known: governance reviews whole periods from then on, so
   * a period that began before (the one running then) is not reviewed.
   */
  steadySince?: string | null;
  latestScore: number | null;
  openEscalations: Record<Severity, number>;
  /** The transition phase in progress, if any. */
  phase: {
    name: string;
    status: 'ACTIVE' | 'HELD';
    gated: boolean;
    startedAt: string | null;
    minDurationSeconds: number;
    lastGateAt: string | null;
    holdSeconds: number;
  } | null;
  /** The earliest open exit step: its day, and when it becomes overdue (null on plans from before that was kept). */
  nextExitStep: { kind: string; dueOn: string; dueAt?: string | null } | null;
}

export interface Milestone {
  kind: 'gate' | 'phase-end' | 'review' | 'renewal' | 'exit-step';
  label: string;
  at: string;
}

/** Critical: a P1/P2 escalation open, a held transition gate, or a score far below target; at risk: any open escalation or a score below target. */
export function healthOf(f: Pick<EngagementFacts, 'latestScore' | 'openEscalations' | 'phase'>): Health {
  const { P1, P2, P3, P4 } = f.openEscalations;
  if (P1 + P2 > 0 || f.phase?.status === 'HELD' || (f.latestScore !== null && f.latestScore < CRITICAL_BELOW))
    return 'CRITICAL';
  if (P3 + P4 > 0 || (f.latestScore !== null && f.latestScore < AT_RISK_BELOW)) return 'AT_RISK';
  return 'GOOD';
}

const CADENCE_ORDER: ReviewCadence[] = ['WEEKLY', 'MONTHLY', 'QUARTERLY', 'ANNUAL'];
const SECOND = 1000;

/** The period of `cadence` running at one instant, in `timeZone`. */
export type PeriodNow = (cadence: ReviewCadence, timeZone: string) => Period;

/** PeriodNow for one instant, remembered per cadence and zone: a portfolio asks the same question many times. */
export function periodsAt(nowMs: number): PeriodNow {
  const known = new Map<string, Period>();
  return (cadence, timeZone) => {
    const key = `${cadence} ${timeZone}`;
    let period = known.get(key);
    if (period === undefined) {
      period = periodAt(cadence, nowMs, timeZone);
      known.set(key, period);
    }
    return period;
  };
}

/** The earliest thing due: an overdue one (in the past) comes first, so it is not hidden behind a later date. */
export function nextMilestone(
  f: EngagementFacts,
  nowMs: number,
  periods: PeriodNow = periodsAt(nowMs),
): Milestone | null {
  return nextMilestoneUntil(f, nowMs, periods).milestone;
}

/**
 * `nextMilestone` at `nowMs`, and until when (exclusive, epoch ms) it gives the same for every later instant: the next
 * review's or renewal instant's passing, whichever comes first; Infinity when neither applies (a gate's or exit
 * step's date does not move with time). A portfolio reuses its rows until then.
 */
export function nextMilestoneUntil(
  f: EngagementFacts,
  nowMs: number,
  periods: PeriodNow = periodsAt(nowMs),
): { milestone: Milestone | null; until: number } {
  const candidates: Milestone[] = [];
  let until = Infinity;
  // Every milestone on the engagement's clock (its offset in the instant), as the renewal's already are: its first ten
  // characters are the engagement's date, whatever the zone.
  const iso = (ms: number) => DateTime.fromMillis(ms, { zone: f.timeZone }).toISO()!;
  if (f.stage === 'TRANSITION' && f.phase && !f.phase.gated && f.phase.startedAt) {
    // A phase without a gate (knowledge transfer, shadowing) ends on its date: the next one starts then.
    candidates.push({
      kind: 'phase-end',
      label: `end of phase: ${f.phase.name}`,
      at: iso(Date.parse(f.phase.startedAt) + f.phase.minDurationSeconds * SECOND),
    });
  }
  if (f.stage === 'TRANSITION' && f.phase?.gated) {
    const held = f.phase.status === 'HELD' && f.phase.lastGateAt;
    const from = held ? Date.parse(f.phase.lastGateAt!) : f.phase.startedAt ? Date.parse(f.phase.startedAt) : null;
    const wait = held ? f.phase.holdSeconds : f.phase.minDurationSeconds;
    if (from !== null)
      candidates.push({
        kind: 'gate',
        label: `${held ? 'gate re-evaluation' : 'gate'}: ${f.phase.name}`,
        at: iso(from + wait * SECOND),
      });
  }
  if (f.stage === 'STEADY_STATE' || f.stage === 'RENEWAL') {
    // Each cadence's review runs the grace period after its period closes, in order of the periods: the next one is
    // that of the oldest period whose grace period has not run out (the one running now, or within the grace period
    // after its start the one before; a grace longer than a short period, a week shortened by DST, can leave two
    // waiting). Governance reviews whole periods from steady state on: none that began before it. The earliest of
    // the cadences' is next (a quarter's may come before a week's).
    const grace = f.reviewGraceSeconds * SECOND;
    const steadySince = f.steadySince ? Date.parse(f.steadySince) : -Infinity;
    const reviews = CADENCE_ORDER.filter((c) => f.reviewCadences.includes(c)).map((cadence) => {
      let period = periods(cadence, f.timeZone);
      for (;;) {
        const before = periodAt(cadence, Date.parse(period.start) - 1, f.timeZone);
        if (Date.parse(before.end) + grace <= nowMs || Date.parse(before.start) < steadySince) break;
        period = before;
      }
      // Nor the one running now, when it began before: the first whole period after is.
      if (Date.parse(period.start) < steadySince) period = firstPeriodFrom(cadence, steadySince, f.timeZone);
      return { cadence, due: Date.parse(period.end) + grace };
    });
    const review = reviews.sort((a, b) => a.due - b.due)[0];
    if (review) {
      until = review.due;
      candidates.push({ kind: 'review', label: `${review.cadence.toLowerCase()} review`, at: iso(review.due) });
    }
    const m = renewalMilestones(f.termEnd, f.renewalNoticeDays, undefined, f.timeZone);
    const renewal = [
      { label: 'renewal evaluation', at: m.evaluationAt },
      { label: 'renewal decision due', at: m.noticeDeadline },
    ].find((r) => Date.parse(r.at) > nowMs);
    if (renewal) {
      // The evaluation comes before the deadline: once it has passed, the deadline is next.
      until = Math.min(until, Date.parse(renewal.at));
      candidates.push({ kind: 'renewal', ...renewal });
    }
  }
  if (f.stage === 'EXIT' && f.nextExitStep)
    candidates.push({
      kind: 'exit-step',
      label: `exit step: ${f.nextExitStep.kind.toLowerCase().replaceAll('_', ' ')}`,
      // A step is due on a date (the engagement's), overdue once that day has ended there (`storedDueAt`'s rule).
      at: DateTime.fromISO(f.nextExitStep.dueAt ?? endOfUtcDate(f.nextExitStep.dueOn), { zone: f.timeZone }).toISO()!,
    });
  return { milestone: candidates.sort((a, b) => Date.parse(a.at) - Date.parse(b.at))[0] ?? null, until };
}

/** Up when the latest score beats the one before by more than a point, down when it trails by more. */
export function trendOf(latest: number | null, previous: number | null): 'up' | 'down' | 'flat' | null {
  if (latest === null || previous === null) return null;
  if (latest - previous > 1) return 'up';
  if (previous - latest > 1) return 'down';
  return 'flat';
}
