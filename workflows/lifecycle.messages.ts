import { defineQuery } from '@temporalio/workflow';
import type { LifecycleStage } from '../src/domain/lifecycle';

/** Messages of the engagement lifecycle workflow, shared by the workflow and the API. */
export interface LifecycleInput {
  engagementId: string;
  vendorId: string;
  /** ISO date the transition starts (the contract's term start). */
  transitionStartsAt: string;
}

export interface LifecycleState {
  engagementId: string;
  stage: LifecycleStage;
  transitionStartsAt: string;
}

export const lifecycleStateQuery = defineQuery<LifecycleState>('lifecycleState');
