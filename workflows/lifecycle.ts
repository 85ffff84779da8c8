import { proxyActivities, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { createEngagementActivities } from '../activities/engagements';
import { msUntil } from '../src/domain/lifecycle';
import { lifecycleStateQuery, type LifecycleInput, type LifecycleState } from './lifecycle.messages';
import { EngagementIdKey, StageKey, VendorIdKey } from './search-attributes';

const { moveEngagementStage } = proxyActivities<ReturnType<typeof createEngagementActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * One per engagement: waits for the contract's term to start, then opens the transition. Later stages
 * (transition, governance, renewal, exit) join this workflow as they are built.
 */
export async function engagementLifecycle(input: LifecycleInput): Promise<LifecycleState> {
  const state: LifecycleState = {
    engagementId: input.engagementId,
    stage: 'CONTRACTED',
    transitionStartsAt: input.transitionStartsAt,
  };
  setHandler(lifecycleStateQuery, () => state);
  upsertSearchAttributes([
    { key: EngagementIdKey, value: input.engagementId },
    { key: VendorIdKey, value: input.vendorId },
    { key: StageKey, value: state.stage },
  ]);

  await sleep(msUntil(input.transitionStartsAt, Date.now()));

  await moveEngagementStage({ engagementId: input.engagementId, to: 'TRANSITION' });
  state.stage = 'TRANSITION';
  upsertSearchAttributes([{ key: StageKey, value: state.stage }]);
  return state;
}
