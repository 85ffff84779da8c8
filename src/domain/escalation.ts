/** Escalation rules that are policy, not data. Pure. */
import { EXIT_STEP_OWNERS, type ExitStepKind } from './renewal';
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

/** The stored key of an escalation raised under `key` for an engagement: one escalation per key. */
export function escalationIdempotencyKey(engagementId: string, key: string): string {
  return `${engagementId}/${key}`;
}

/** The keys the lifecycle raises its own escalations under, and resolves them by. */
export const lifecycleEscalationKeys = {
  council: (termEnd: string) => `renewal/${termEnd}/council`,
  overdueStep: (kind: string) => `exit/${kind}/overdue`,
  transitionOverrun: (termEnd: string) => `renewal/${termEnd}/transition-overrun`,
};

/**
 * Why a vendor may not act on an escalation (acknowledge, resolve) that the lifecycle raised about one of the client's
 * own duties (the renewal decision and its window, an exit step the client carries out), or null when it may: the
 * vendor's answer would silence the reminders meant for the client's people.
 */
export function clientsOwnEscalation(x: {
  raisedBy: string;
  category: string;
  idempotencyKey: string | null;
}): string | null {
  if (x.raisedBy !== 'workflow:lifecycle') return null;
  if (x.category === 'renewal-decision') return "the renewal decision is the client's";
  // Its reminders tell the client's council that its window for the renewal decision narrows.
  if (x.category === 'transition-overrun') return "the renewal decision's window is the client's";
  const kind = /\/exit\/([A-Z_]+)\/overdue$/.exec(x.idempotencyKey ?? '')?.[1];
  if (x.category !== 'exit-step' || !kind || !(kind in EXIT_STEP_OWNERS)) return null;
  const owner = EXIT_STEP_OWNERS[kind as ExitStepKind];
  return owner.startsWith('vendor') ? null : `exit step ${kind} is the client's (${owner})`;
}
