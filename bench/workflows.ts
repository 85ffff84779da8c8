import { proxyActivities, sleep } from '@temporalio/workflow';

/** Bench-only workflows, bundled for the benchmarks' own workers: baselines the product's workflows are compared to. */

/** Does nothing: what a bare `client.workflow.start` costs, with nothing of the product around it. */
export async function noop(): Promise<void> {
  return;
}

const { nothing } = proxyActivities<{ nothing(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

/**
 * The orchestration floor of a workload: its timers (a day each) and its activities (doing nothing), one after the
 * other, interleaved as a review loop interleaves them.
 */
export async function timersAndActivities(timers: number, activities: number): Promise<void> {
  for (let i = 0; i < Math.max(timers, activities); i++) {
    if (i < timers) await sleep('1 day');
    if (i < activities) await nothing();
  }
}
