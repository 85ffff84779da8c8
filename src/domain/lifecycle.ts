/** Lifecycle stages of an engagement, in order. Pure: imported by workflows, activities and the API. */
export const LIFECYCLE_STAGES = ['CONTRACTED', 'TRANSITION', 'STEADY_STATE', 'RENEWAL', 'EXIT', 'CLOSED'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

/** Workflow ids come from business keys, so a repeated start finds the running workflow instead of adding one. */
export function lifecycleWorkflowId(engagementId: string): string {
  return `engagement-${engagementId}-lifecycle`;
}

/** Milliseconds from `now` until an ISO instant; never negative (a date in the past is due now). */
export function msUntil(isoInstant: string, now: number): number {
  return Math.max(0, Date.parse(isoInstant) - now);
}
