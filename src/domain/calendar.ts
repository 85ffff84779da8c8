/**
 * Calendar arithmetic in an engagement's time zone: review periods (weeks start on Monday) and business-hours
 * deadlines (Monday–Friday, 09:00–17:00). Pure: every function takes the instant it works from.
 */
import { DateTime } from 'luxon';
import type { ReviewCadence } from './types';

const UNIT = { WEEKLY: 'week', MONTHLY: 'month', QUARTERLY: 'quarter', ANNUAL: 'year' } as const;

export interface Period {
  cadence: ReviewCadence;
  /** ISO instants; the period is [start, end). */
  start: string;
  end: string;
}

/** The first whole period of a cadence that starts at or after `fromMs`. */
export function firstPeriodFrom(cadence: ReviewCadence, fromMs: number, timeZone: string): Period {
  const from = DateTime.fromMillis(fromMs, { zone: timeZone });
  const startOfUnit = from.startOf(UNIT[cadence]);
  const start = startOfUnit.toMillis() === from.toMillis() ? startOfUnit : startOfUnit.plus({ [UNIT[cadence]]: 1 });
  return periodStartingAt(cadence, start);
}

/** The period of a cadence running at `atMs`: it starts at or before it and ends after it. */
export function periodAt(cadence: ReviewCadence, atMs: number, timeZone: string): Period {
  return periodStartingAt(cadence, DateTime.fromMillis(atMs, { zone: timeZone }).startOf(UNIT[cadence]));
}

/** The period right after `period`. */
export function nextPeriod(period: Period, timeZone: string): Period {
  return periodStartingAt(period.cadence, DateTime.fromISO(period.end, { zone: timeZone }));
}

function periodStartingAt(cadence: ReviewCadence, start: DateTime): Period {
  return {
    cadence,
    start: start.toUTC().toISO()!,
    end: start
      .plus({ [UNIT[cadence]]: 1 })
      .toUTC()
      .toISO()!,
  };
}

/** The period's dates as the engagement sees them, for the review's row: [first day, last day]. */
export function periodDates(period: Period, timeZone: string): { from: string; to: string } {
  const start = DateTime.fromISO(period.start, { zone: timeZone });
  const end = DateTime.fromISO(period.end, { zone: timeZone }).minus({ days: 1 });
  return { from: start.toISODate()!, to: end.toISODate()! };
}

/**
 * Whether a period is one of a service that ends at `endsAt` (an exit date, or the moment the exit was done): its last
 * day, in the engagement's zone, is not after the day the service ends on there (the day of the instant just before
 * `endsAt`). Whole days count: a term ends at midnight UTC, so west of UTC its last month ends hours after that
 * instant and still counts, and a service that stops on a Sunday afternoon counts the week ending that Sunday. A
 * period that runs on past the service's last day does not count.
 */
export function withinService(period: Period, endsAt: string, timeZone: string): boolean {
  return lastDayOf(period.end, timeZone) <= lastDayOf(endsAt, timeZone);
}

/**
 * What a service ending at `endsAt` covers of a period: all of it when it is within the service (`withinService`);
 * its first days, up to the service's last day, when the service ends inside it (a period cut short, reviewed as
 * far as the service ran); nothing when it begins after the service's last day.
 */
export function serviceShareOf(period: Period, endsAt: string, timeZone: string): Period | null {
  if (withinService(period, endsAt, timeZone)) return period;
  const lastDay = lastDayOf(endsAt, timeZone);
  if (DateTime.fromISO(period.start, { zone: timeZone }).toISODate()! > lastDay) return null;
  const end = DateTime.fromISO(lastDay, { zone: timeZone }).plus({ days: 1 });
  return { cadence: period.cadence, start: period.start, end: end.toUTC().toISO()! };
}

/**
 * A period cut short by the end of the service: the first `days` of its calendar unit's `of` days. Null when whole,
 * or when it is not the start of a calendar unit in the zone (not a review period at all: nothing to say of it).
 */
export function shortPeriod(period: Period, timeZone: string): { days: number; of: number } | null {
  const whole = periodAt(period.cadence, Date.parse(period.start), timeZone);
  if (Date.parse(whole.start) !== Date.parse(period.start)) return null;
  if (Date.parse(period.end) >= Date.parse(whole.end)) return null;
  const days = (p: Period) => {
    const { from, to } = periodDates(p, timeZone);
    return Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000) + 1;
  };
  return { days: days(period), of: days(whole) };
}

/** The day, in the zone, of the instant just before `instant`: the last day of a span ending at it. */
function lastDayOf(instant: string, timeZone: string): string {
  return DateTime.fromMillis(Date.parse(instant) - 1, { zone: timeZone }).toISODate()!;
}

const DAY_START_HOUR = 9;
const DAY_END_HOUR = 17;

/** The instant `seconds` of business time after `fromMs`: only Monday–Friday 09:00–17:00 local time count. */
export function addBusinessSeconds(fromMs: number, seconds: number, timeZone: string): number {
  let cursor: DateTime = DateTime.fromMillis(fromMs, { zone: timeZone });
  let remaining = seconds;
  for (let guard = 0; guard < 10_000; guard++) {
    cursor = nextBusinessMoment(cursor);
    const closing = cursor.set({ hour: DAY_END_HOUR, minute: 0, second: 0, millisecond: 0 });
    const available = closing.diff(cursor, 'seconds').seconds;
    if (remaining <= available) return cursor.plus({ seconds: remaining }).toMillis();
    remaining -= available;
    cursor = closing;
  }
  throw new Error('business-hours deadline too far away');
}

function nextBusinessMoment(t: DateTime): DateTime {
  let cursor: DateTime = t;
  for (;;) {
    const opening = cursor.set({ hour: DAY_START_HOUR, minute: 0, second: 0, millisecond: 0 });
    const closing = cursor.set({ hour: DAY_END_HOUR, minute: 0, second: 0, millisecond: 0 });
    if (cursor.weekday <= 5 && cursor < closing) return cursor < opening ? opening : cursor;
    cursor = cursor.plus({ days: 1 }).startOf('day');
  }
}

/** Deadline `seconds` after `fromMs`, in wall-clock or business time. */
export function deadlineAfter(fromMs: number, seconds: number, businessHours: boolean, timeZone: string): number {
  return businessHours ? addBusinessSeconds(fromMs, seconds, timeZone) : fromMs + seconds * 1000;
}
