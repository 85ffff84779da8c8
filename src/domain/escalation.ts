/** Escalation rules that are policy, not data. Pure. */
import type { Severity } from './types';

/** An issue escalated this many times (this one included) within the window is "repeated": it needs a root cause. */
export const REPEAT_THRESHOLD = 3;
export const REPEAT_WINDOW_DAYS = 90;

export interface EscalationLevelContact {
  level: number;
  role: string;
  contactName: string;
  contactEmail: string;
}

export interface SeverityPolicy {
  acknowledgeSeconds: number;
  resolveSeconds: number;
  businessHours: boolean;
}

export type SeverityPolicies = Record<Severity, SeverityPolicy>;

export function escalationWorkflowId(escalationId: string): string {
  return `escalation-${escalationId}`;
}
