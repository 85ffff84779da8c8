import type { Notice } from '../src/notify/notifier';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Period } from '../src/domain/calendar';
import type { ReviewCadence } from '../src/domain/types';

export interface GovernanceInput {
  engagementId: string;
  vendorId: string;
  timeZone: string;
  cadences: ReviewCadence[];
  graceSeconds: number;
  /** Reviews cover whole periods starting at or after this instant. */
  startAt: string;
  /** Carried across continue-as-new: the next period to review, per cadence. */
  cursors?: Partial<Record<ReviewCadence, Period>>;
  reviewsDone?: number;
  /** Carried across continue-as-new: the last review, shown until the next one runs. */
  lastReview?: GovernanceState['lastReview'];
  /** Carried across continue-as-new: notices the run before had not delivered yet, sent again. */
  notices?: Notice[];
  /** Carried across continue-as-new: the service ends then (`serviceEndsSignal`). */
  serviceEndsAt?: string;
}

export interface GovernanceState {
  engagementId: string;
  cadences: ReviewCadence[];
  /** Reviews cover whole periods starting at or after this instant (absent from runs started before it was shown). */
  startAt?: string;
  next: Array<{ cadence: ReviewCadence; periodStart: string; periodEnd: string; dueAt: string }>;
  reviewsDone: number;
  lastReview?: {
    reviewId: string;
    cadence: ReviewCadence;
    periodFrom: string;
    periodTo: string;
    overallScore: number | null;
  };
  /**
   * The service ends then (an exit): a period it cuts through is reviewed for the days it ran, periods after it are not
   * reviewed, and governance ends after the last one.
   */
  serviceEndsAt?: string;
}

export const governanceStateQuery = defineQuery<GovernanceState>('governanceState');
/**
 * The engagement's service ends at the instant given (the lifecycle's exit date, or the moment the exit's steps were
 * all done, if earlier; the earliest told stands): its periods are reviewed to the last one within it
 * (`withinService`), a period it cuts through for the days it ran (`serviceShareOf`), none after, and then governance
 * ends, telling the lifecycle.
 */
export const serviceEndsSignal = defineSignal<[string]>('serviceEnds');

export function governanceWorkflowId(engagementId: string): string {
  return `engagement-${engagementId}-governance`;
}

/** Reviews per run before continue-as-new: keeps each run's history to a few hundred events. */
export const REVIEWS_PER_RUN = 40;
