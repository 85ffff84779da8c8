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

/**
 * The notice to the contact of an escalation's current level (the top one when the matrix has no such level), once
 * per step (its event key): sent when it is raised, climbs or reminds the top.
 */
export function escalationNotice(
  escalation: { escalationId: string; engagementId: string; title: string; category: string },
  levels: EscalationLevelContact[],
  at: { stepNumber: number; level: number; severity: Severity; status: string },
  reason: string,
) {
  const contact = levels.find((l) => l.level === at.level) ?? levels[levels.length - 1];
  return {
    eventKey: `escalation/${escalation.escalationId}/step-${at.stepNumber}`,
    engagementId: escalation.engagementId,
    recipient: { role: contact.role, name: contact.contactName, email: contact.contactEmail },
    subject: `[${at.severity}] ${escalation.title}: ${reason}`,
    body: `Escalation ${escalation.escalationId} (${escalation.category}) is at level ${at.level} (${contact.role}). ${reason}.`,
    data: { escalationId: escalation.escalationId, level: at.level, severity: at.severity, status: at.status },
  };
}
