import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { GateVerdict } from '../src/domain/scorecard';
import type { PhasePlan, TransitionPlanData } from '../src/domain/transition';

/** Messages of the transition workflow, shared by the workflow and the API. */
export interface TransitionInput {
  engagementId: string;
  vendorId: string;
  plan: TransitionPlanData;
  /** Carried across continue-as-new; absent on the first run. */
  resume?: TransitionState;
}

export type PhaseState = PhasePlan & {
  sequence: number;
  status: 'PENDING' | 'ACTIVE' | 'HELD' | 'PASSED' | 'OVERRIDDEN' | 'CANCELLED';
  startedAt?: string;
  /** When the minimum duration (or the hold) ends; moved later by paused time. */
  dueAt?: string;
  completedAt?: string;
};

export interface GateRecord {
  phase: string;
  sequence: number;
  attempt: number;
  evaluatedAt: string;
  passed: boolean;
  score: number | null;
  threshold: number;
  reasons: string[];
  kpis: GateVerdict['kpis'];
  /** Set when a person decided instead of (or over) the numbers. */
  decidedBy?: string;
  decision?: 'approved-early' | 'overridden';
  note?: string;
}

export interface HoldRecord {
  phase: string;
  at: string;
  kind: 'held' | 'escalated' | 'rolled-back' | 'paused' | 'resumed' | 'plan-changed';
  by?: string;
  detail?: string;
}

export interface TransitionState {
  engagementId: string;
  /** CANCELLED: the engagement was terminated for cause mid-transition (the lifecycle cancelled it). */
  status: 'RUNNING' | 'PAUSED' | 'COMPLETED' | 'CANCELLED';
  phases: PhaseState[];
  currentIndex: number;
  volumePct: number;
  /** When the current phase's gate is next evaluated (null while paused or done). */
  nextGateAt: string | null;
  /** When the transition was paused (kept across continue-as-new, so the pause's length is still known). */
  pausedAt?: string;
  consecutiveFailures: number;
  gates: GateRecord[];
  history: HoldRecord[];
  rules: Omit<TransitionPlanData, 'phases'>;
}

export interface ActorInput {
  actor: string;
}

export const transitionStateQuery = defineQuery<TransitionState>('transitionState');
/** Pass the pending gate now, before its minimum duration is up or while it is held. */
/** `phase`, when given, must be the current phase: a repeated or late approval never passes the next one. */
export const approveGateUpdate = defineUpdate<TransitionState, [ActorInput & { note?: string; phase?: string }]>(
  'approveGate',
);
/** Pass a failed (held) gate despite its numbers; a reason is required and recorded. */
export const overrideGateUpdate = defineUpdate<TransitionState, [ActorInput & { reason: string }]>('overrideGate');
export const pauseUpdate = defineUpdate<TransitionState, [ActorInput & { reason?: string }]>('pauseTransition');
export const resumeUpdate = defineUpdate<TransitionState, [ActorInput]>('resumeTransition');
/** Replace the phases after the current one. */
export const changePlanUpdate = defineUpdate<TransitionState, [ActorInput & { phases: PhasePlan[] }]>(
  'changeTransitionPlan',
);

export function transitionWorkflowId(engagementId: string): string {
  return `engagement-${engagementId}-transition`;
}
