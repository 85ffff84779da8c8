/** Industry defaults from the domain brief, used when an engagement does not set its own. Pure data. */
import type { Severity } from './types';

/** Acknowledge / resolve deadlines per severity (P3/P4 in business hours). */
export const DEFAULT_ESCALATION_POLICIES: ReadonlyArray<{
  severity: Severity;
  acknowledgeMins: number;
  resolveMins: number;
  businessHours: boolean;
}> = [
  { severity: 'P1', acknowledgeMins: 15, resolveMins: 4 * 60, businessHours: false },
  { severity: 'P2', acknowledgeMins: 60, resolveMins: 8 * 60, businessHours: false },
  { severity: 'P3', acknowledgeMins: 4 * 60, resolveMins: 3 * 8 * 60, businessHours: true },
  { severity: 'P4', acknowledgeMins: 8 * 60, resolveMins: 10 * 8 * 60, businessHours: true },
];

/** Renewal notice periods contracts commonly use, and when alerts go out ahead of the deadline. */
export const RENEWAL_ALERT_DAYS = [120, 90, 60, 30] as const;
