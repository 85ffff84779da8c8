import { status } from '@grpc/grpc-js';
import {
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  QueryNotRegisteredError,
  QueryRejectedError,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
  type QueryDefinition,
} from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { grpcCode } from '../temporal/grpc';
import { ProblemError, unavailable } from './problem';
import type { WorkflowWatches } from './workflow-watches';

const { WorkflowExecutionStatus } = temporal.api.enums.v1;

const TEMPORAL_DEADLINE_MS = 3000;

/**
 * Runs a Temporal call with a short deadline; when Temporal cannot be reached the caller gets a 503 naming it,
 * instead of a request hanging through the client's retries. A call that waits for a workflow to answer (an update)
 * gives `workflowWaitMs`: Temporal is checked first with the short deadline, and a workflow that does not answer in
 * time is a 504 saying so, not Temporal being unreachable.
 */
export async function callTemporal<T>(client: Client, fn: () => Promise<T>, workflowWaitMs?: number): Promise<T> {
  let reached = false;
  try {
    if (workflowWaitMs !== undefined) {
      // While Temporal is down the caller hears so in seconds, not after the wait for the workflow has run out.
      await client.connection.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () =>
        client.workflowService.getSystemInfo({}),
      );
      reached = true;
    }
    return await client.connection.withDeadline(Date.now() + (workflowWaitMs ?? TEMPORAL_DEADLINE_MS), fn);
  } catch (error) {
    // Temporal answered the check above: the wait was for the workflow, which no worker ran in time. An update sent
    // meanwhile is still delivered when a worker takes the workflow up.
    if (reached && isTimeout(error)) {
      throw new ProblemError(
        504,
        'Gateway Timeout',
        `the workflow did not answer within ${workflowWaitMs! / 1000} s: no worker is running it, or it is busy. ` +
          'The request may still take effect when a worker takes it up: read the state before sending it again',
      );
    }
    if (isUnavailable(error)) throw unavailable(`Temporal is unreachable: ${describe(error)}`);
    throw error;
  }
}

/** The deadline passed: the update's own timeout error, or a gRPC DEADLINE_EXCEEDED. */
function isTimeout(error: unknown): boolean {
  return error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || grpcCode(error) === status.DEADLINE_EXCEEDED;
}

function isUnavailable(error: unknown): boolean {
  const code = grpcCode(error);
  if (code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|Failed to connect/i.test(message);
}

function isFailedPrecondition(error: unknown): boolean {
  return grpcCode(error) === status.FAILED_PRECONDITION || /FAILED_PRECONDITION|before.*task/i.test(describe(error));
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

/**
 * A workflow's live state for a read endpoint: `live` is null when no such workflow runs, and `liveUnavailable`
 * says why when Temporal cannot be reached (the facts from PostgreSQL are still served).
 */
export async function queryLive<T>(
  client: Client,
  workflowId: string,
  query: QueryDefinition<T, []>,
): Promise<{ live: T | null; liveUnavailable?: string }> {
  try {
    return { live: await callTemporal(client, () => client.workflow.getHandle(workflowId).query(query)) };
  } catch (error) {
    if (error instanceof ProblemError && error.status === 503) return { live: null, liveUnavailable: error.detail };
    if (error instanceof WorkflowNotFoundError) return { live: null };
    // A workflow closed before any worker ran it (terminated at once, say) has no state to query.
    if (error instanceof QueryNotRegisteredError || error instanceof QueryRejectedError || isFailedPrecondition(error))
      return { live: null, liveUnavailable: `the workflow cannot answer: ${describe(error)}` };
    throw error;
  }
}

/** A workflow's live state as `queryLive` gives it, with the point of its history it was read at. */
export interface LiveState<T> {
  live: T | null;
  liveUnavailable?: string;
  /** `runId:historyLength` when the state was read, absent when nothing was read. */
  readAt?: string;
}

/**
 * `queryLive`, asked only when the workflow has moved on since `previous` was read. A workflow's state changes only
 * with the workflow tasks that add events to its history, so an unchanged run id and history length mean an
 * unchanged state. Where the history stands comes from `watches` when the workflow's run is watched (no call at
 * all), otherwise from a describe (answered by the Temporal server alone); only a workflow that moved is queried
 * (a round trip through a worker that runs the workflow's code). A running workflow that is described is watched
 * from then on.
 */
export async function liveStateSince<T>(
  client: Client,
  workflowId: string,
  query: QueryDefinition<T, []>,
  previous?: LiveState<T>,
  watches?: WorkflowWatches,
): Promise<LiveState<T>> {
  if (previous?.readAt && watches?.position(workflowId) === previous.readAt) return previous;
  let readAt: string;
  try {
    // Described before the query: a state read later than its recorded point is asked again, never kept too long.
    const { workflowExecutionInfo: info } = await callTemporal(client, () =>
      client.workflowService.describeWorkflowExecution({
        namespace: client.options.namespace,
        execution: { workflowId },
      }),
    );
    // A server that does not report the length (none known to) leaves every read a query.
    const runId = info?.execution?.runId;
    readAt = info?.historyLength && runId ? `${runId}:${String(info.historyLength)}` : '';
    if (readAt && runId && info?.status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING)
      watches?.watch(workflowId, runId, Number(String(info.historyLength)));
  } catch (error) {
    if (error instanceof ProblemError && error.status === 503) return { live: null, liveUnavailable: error.detail };
    if (grpcCode(error) === status.NOT_FOUND) return { live: null };
    throw error;
  }
  if (readAt && previous?.readAt === readAt) return previous;
  const state = await queryLive(client, workflowId, query);
  // A state that could not be read is asked for again next time, whether or not the workflow moved.
  return state.liveUnavailable === undefined && readAt ? { ...state, readAt } : state;
}

/**
 * Starts a workflow under its business-key id; a repeat (or a concurrent twin) gets the running one back.
 * Answers 202 with the ids and the Web UI link.
 */
export async function startOnce(
  client: Client,
  opts: {
    type: string;
    workflowId: string;
    taskQueue: string;
    uiLink: string;
    args: unknown[];
    /** A closed run with the id is not started again, unless it failed, was terminated, cancelled or timed out. */
    onlyAfterFailure?: boolean;
    /**
     * The workflow may have continued as new (a lifecycle at a renewal, governance every 40 reviews): a repeat then
     * finds a later run of its chain, and the answer, and the start the caller records, must name the chain's first
     * run, read from that run's first event. A start that cannot meet such a chain leaves this out: one call less.
     */
    mayHaveContinued?: boolean;
  },
): Promise<{ status: number; body: { workflowId: string; runId: string; workflowUrl: string } }> {
  const handle = await callTemporal(client, () =>
    client.workflow.start(opts.type, {
      workflowId: opts.workflowId,
      taskQueue: opts.taskQueue,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      ...(opts.onlyAfterFailure && { workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY }),
      args: opts.args,
    }),
  );
  const runId = opts.mayHaveContinued
    ? await firstRunOf(client, opts.workflowId, handle.firstExecutionRunId)
    : handle.firstExecutionRunId;
  return { status: 202, body: { workflowId: opts.workflowId, runId, workflowUrl: opts.uiLink } };
}

/** The first run of the chain `runId` belongs to (itself, unless it was continued as new from another). */
async function firstRunOf(client: Client, workflowId: string, runId: string): Promise<string> {
  const { history } = await callTemporal(client, () =>
    client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId, runId },
      maximumPageSize: 1,
    }),
  );
  return history?.events?.[0]?.workflowExecutionStartedEventAttributes?.firstExecutionRunId || runId;
}
