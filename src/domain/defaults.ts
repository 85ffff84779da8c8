/** Industry defaults from the domain brief, used when an engagement does not set its own. Pure data. */
import type { Severity } from './types';

const MIN = 60;
const HOUR = 3600;

/** Acknowledge / resolve deadlines per severity (P3/P4 in business hours). */
export const DEFAULT_ESCALATION_POLICIES: ReadonlyArray<{
  severity: Severity;
  acknowledgeSeconds: number;
  resolveSeconds: number;
  businessHours: boolean;
}> = [
  { severity: 'P1', acknowledgeSeconds: 15 * MIN, resolveSeconds: 4 * HOUR, businessHours: false },
  { severity: 'P2', acknowledgeSeconds: HOUR, resolveSeconds: 8 * HOUR, businessHours: false },
  // Business hours: a business day is 8 hours.
  { severity: 'P3', acknowledgeSeconds: 4 * HOUR, resolveSeconds: 3 * 8 * HOUR, businessHours: true },
  { severity: 'P4', acknowledgeSeconds: 8 * HOUR, resolveSeconds: 10 * 8 * HOUR, businessHours: true },
];

/** Renewal notice periods contracts commonly use, and when alerts go out ahead of the deadline. */
export const RENEWAL_ALERT_DAYS = [120, 90, 60, 30] as const;
