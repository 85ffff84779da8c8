import type { Notice } from '../src/notify/notifier';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { EscalationLevelContact, SeverityPolicies } from '../src/domain/escalation';
import type { Severity } from '../src/domain/types';

export interface EscalationInput {
  escalationId: string;
  engagementId: string;
  severity: Severity;
  title: string;
  category: string;
  raisedAt: string;
  timeZone: string;
  levels: EscalationLevelContact[];
  policies: SeverityPolicies;
  requiresRootCause: boolean;
  /** The raise sent the first level's notice itself (absent in runs started before it could). */
  announced?: boolean;
  resume?: EscalationState;
  /** Carried across continue-as-new: notices the run before had not delivered yet, sent again. */
  notices?: Notice[];
}

export interface EscalationStepRecord {
  level: number;
  action: 'raised' | 'climbed' | 'reminded' | 'acknowledged' | 'resolved' | 'reassigned' | 'severity-changed';
  at: string;
  actor: string;
  note?: string;
}

/** The steps that start the clock of the level holding an escalation (`levelSince`): the system's and a person's. */
export const CLOCK_STEPS: ReadonlySet<EscalationStepRecord['action']> = new Set([
  'raised',
  'climbed',
  'reminded',
  'acknowledged',
  'severity-changed',
]);

export interface EscalationState {
  escalationId: string;
  status: 'OPEN' | 'ACKNOWLEDGED' | 'RESOLVED';
  severity: Severity;
  level: number;
  /** When the current level's clock started (raised, climbed, reminded or acknowledged). */
  levelSince: string;
  nextClimbAt: string | null;
  assignee?: string;
  requiresRootCause: boolean;
  steps: EscalationStepRecord[];
  /**
   * Step numbers stored by an earlier run whose steps are not in `steps` (a write that landed, out of order, after
   * one that was lost with that run): a run taking up the escalation numbers its steps after them.
   */
  skippedSteps?: number;
}

export const escalationStateQuery = defineQuery<EscalationState>('escalationState');
export const acknowledgeUpdate = defineUpdate<EscalationState, [{ actor: string; note?: string }]>('acknowledge');
export const resolveUpdate = defineUpdate<EscalationState, [{ actor: string; resolution: string; rootCause?: string }]>(
  'resolve',
);
export const reassignUpdate = defineUpdate<EscalationState, [{ actor: string; assignee: string }]>('reassign');
export const changeSeverityUpdate = defineUpdate<EscalationState, [{ actor: string; severity: Severity }]>(
  'changeSeverity',
);
