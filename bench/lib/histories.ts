import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

export interface RunHistory {
  workflowId: string;
  runId: string;
  type: string;
  events: number;
  activitiesScheduled: number;
  timersFired: number;
  workflowTasks: number;
  /** How the run ended: its last event, e.g. WorkflowExecutionCompleted or WorkflowExecutionContinuedAsNew. */
  closedBy: string;
}

/**
 * Every run of a workflow id, oldest first: from the current run back along the continue-as-new chain (each run's
 * started event names the run it continues), each history fetched whole.
 */
export async function runsOf(client: Client, workflowId: string): Promise<RunHistory[]> {
  const current = await client.workflow.getHandle(workflowId).describe();
  const runs: RunHistory[] = [];
  let runId: string | undefined = current.runId;
  while (runId) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events: temporal.api.history.v1.IHistoryEvent[] = history.events ?? [];
    const last = events[events.length - 1];
    runs.unshift({
      workflowId,
      runId,
      type: current.type,
      events: events.length,
      activitiesScheduled: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
      timersFired: events.filter((e) => e.timerFiredEventAttributes).length,
      workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
      closedBy: last ? eventName(last) : 'none',
    });
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return runs;
}

function eventName(event: object): string {
  const attributes = Object.keys(event).find(
    (k) => k.endsWith('EventAttributes') && (event as Record<string, unknown>)[k],
  );
  return attributes ? attributes.replace(/EventAttributes$/, '').replace(/^./, (c) => c.toUpperCase()) : 'unknown';
}

/** Per workflow type: runs, the largest run's events, and the events of all runs together. */
export function byType(runs: RunHistory[]) {
  const types = [...new Set(runs.map((r) => r.type))].sort();
  return types.map((type) => {
    const of = runs.filter((r) => r.type === type);
    return {
      type,
      workflows: new Set(of.map((r) => r.workflowId)).size,
      runs: of.length,
      maxEventsPerRun: Math.max(...of.map((r) => r.events)),
      totalEvents: of.reduce((sum, r) => sum + r.events, 0),
      activitiesScheduled: of.reduce((sum, r) => sum + r.activitiesScheduled, 0),
      timersFired: of.reduce((sum, r) => sum + r.timersFired, 0),
      workflowTasks: of.reduce((sum, r) => sum + r.workflowTasks, 0),
    };
  });
}
