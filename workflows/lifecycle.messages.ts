import type { Notice } from '../src/notify/notifier';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { LifecycleStage } from '../src/domain/lifecycle';
import type { ExitStepKind, RenewalDecisionKind, RenewalMilestones } from '../src/domain/renewal';
import type { TransitionPlanData } from '../src/domain/transition';

/** Messages of the engagement lifecycle workflow, shared by the workflow and the API. */
export interface LifecycleInput {
  engagementId: string;
  vendorId: string;
  termStart: string;
  termEnd: string;
  renewalNoticeDays: number;
  autoRenew: boolean;
  defaultDecision: RenewalDecisionKind;
  /** The transition to run first; null when the engagement starts (or continues) in steady state. */
  transitionPlan: TransitionPlanData | null;
  /** Days before the notice deadline that the renewal evaluation starts (default 60). */
  evaluationLeadDays?: number;
  /**
   * The engagement's IANA time zone: the renewal milestones fall at the start of its days. Runs started without it
   * (before it was passed) count them in UTC, as they always did.
   */
  timeZone?: string;
  /**
   * Governance's grace for late KPI data after a period: a closing lifecycle waits for governance to review the
   * service's last periods at most this long after the service ended (and two days more). Runs started without it
   * wait three days.
   */
  reviewGraceSeconds?: number;
  /** Carried across continue-as-new at a term boundary. */
  resume?: LifecycleState;
  /** Carried across continue-as-new: notices the run before had not delivered yet, sent again. */
  notices?: Notice[];
  /** The stored exit plan, for a lifecycle started again while the engagement was exiting: it is taken up. */
  exit?: LifecycleState['exit'];
}

export interface ExitStepState {
  kind: ExitStepKind;
  owner: string;
  dueOn: string;
  completedAt?: string;
  completedBy?: string;
  escalated?: boolean;
  /** Completed after it escalated: its escalation was resolved by the lifecycle. */
  escalationSettled?: boolean;
}

export interface LifecycleState {
  engagementId: string;
  stage: LifecycleStage;
  term: number;
  termStart: string;
  termEnd: string;
  milestones: RenewalMilestones;
  renewal?: {
    recommendation: RenewalDecisionKind;
    reasons: string[];
    decision?: RenewalDecisionKind;
    decidedBy?: string;
    reason?: string;
    /** A renegotiated monthly fee for the next term. */
    newMonthlyFee?: string;
    via?: 'executive' | 'auto-renew clause' | 'contract default';
    councilEscalated?: boolean;
    /** A renewal decided: the next term (its dates, any new fee) opens when this one ends. */
    newTermOpensAt?: string;
  };
  exit?: { reason: string; forCause: boolean; exitAt: string; steps: ExitStepState[] };
  terminated?: { reason: string; by: string; at: string };
}

export const lifecycleStateQuery = defineQuery<LifecycleState>('lifecycleState');
export const decideRenewalUpdate = defineUpdate<
  LifecycleState,
  [{ actor: string; decision: RenewalDecisionKind; reason?: string; newMonthlyFee?: string }]
>('decideRenewal');
export const completeExitStepUpdate = defineUpdate<
  LifecycleState,
  [{ actor: string; kind: ExitStepKind; evidence?: string }]
>('completeExitStep');
export const terminateForCauseUpdate = defineUpdate<LifecycleState, [{ actor: string; reason: string }]>(
  'terminateForCause',
);

/**
 * Sent by a transition started on its own (not as the lifecycle's child) when it completes, to the engagement's
 * lifecycle, which may be waiting for it. Only a wake-up: the lifecycle acts on it as on a completed transition.
 */
export const transitionEndedSignal = defineSignal('transitionEnded');

/** Sent by governance, told that the service ends (`serviceEndsSignal`), once it has reviewed its last periods. */
export const governanceEndedSignal = defineSignal('governanceEnded');
