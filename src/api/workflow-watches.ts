import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const { EventType } = temporal.api.enums.v1;

/** Events that end a run: its history grows no more, so its watch ends with them. */
const CLOSING_EVENTS = new Set<number>([
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);

/**
 * A long poll the server has not answered in this long is taken for lost (servers answer an idle one after about
 * 20 s): the watch ends and describes take over again.
 */
const POLL_DEADLINE_MS = 30_000;
/** A watch nobody has asked about for this long ends when its poll next returns. */
const IDLE_MS = 60_000;

interface Watch {
  runId: string;
  length: number;
  /** Set by the first answer: until the server has answered, the length is only what a describe found. */
  heard: boolean;
  usedAt: number;
  abort: AbortController;
}

/**
 * Where running workflows' histories stand, kept up to date by the server: one long poll per watched run
 * (`GetWorkflowExecutionHistory` with `waitNewEvent`), answered when events are added (and, idle, about every 20
 * s). A cached live state read at `runId:historyLength` is still current while `position` says the same, so a
 * dashboard's repeated reads of a quiet workflow ask Temporal nothing; without a watch (too many, a failed poll,
 * a closed run) the caller describes the workflow instead.
 */
export class WorkflowWatches {
  private readonly watches = new Map<string, Watch>();
  private closed = false;

  /**
   * `client`: the watches' own, on a connection without retries (`connectTemporal(…, { retries: false })`), so that
   * a poll Temporal refuses (down, or over its limit of long polls) ends its watch at once and describes take over,
   * rather than being retried while the last position is trusted. `max`: runs watched at once at the most, each
   * holding one call open on that connection.
   */
  constructor(
    private readonly client: Client,
    private readonly max: number,
  ) {}

  /** `runId:historyLength` of the workflow's watched run as last heard, or undefined when it is not watched. */
  position(workflowId: string): string | undefined {
    const watch = this.watches.get(workflowId);
    if (!watch?.heard) return undefined;
    watch.usedAt = performance.now();
    return `${watch.runId}:${watch.length}`;
  }

  /** Watches a running workflow's run from the length a describe found; a watch of the same run goes on as it is. */
  watch(workflowId: string, runId: string, length: number): void {
    const current = this.watches.get(workflowId);
    if (current?.runId === runId) return;
    if (current) this.end(workflowId, current);
    if (this.closed || this.watches.size >= this.max) return;
    const watch: Watch = { runId, length, heard: false, usedAt: performance.now(), abort: new AbortController() };
    this.watches.set(workflowId, watch);
    void this.follow(workflowId, watch);
  }

  /** Ends every watch (their polls are cancelled) and starts no more; the client's owner closes its connection. */
  close(): void {
    this.closed = true;
    for (const [workflowId, watch] of this.watches) this.end(workflowId, watch);
  }

  private async follow(workflowId: string, watch: Watch): Promise<void> {
    const { connection } = this.client;
    let nextPageToken: Uint8Array | undefined;
    try {
      while (performance.now() - watch.usedAt < IDLE_MS) {
        // The client adds an abort listener per call and never removes it: each poll gets a signal of its own, so a
        // long watch does not pile them up on the watch's.
        if (watch.abort.signal.aborted) break;
        const poll = new AbortController();
        const cancel = () => poll.abort();
        watch.abort.signal.addEventListener('abort', cancel);
        const page = await connection
          .withAbortSignal(poll.signal, () =>
            connection.withDeadline(Date.now() + POLL_DEADLINE_MS, () =>
              connection.workflowService.getWorkflowExecutionHistory({
                namespace: this.client.options.namespace,
                execution: { workflowId, runId: watch.runId },
                waitNewEvent: true,
                skipArchival: true,
                nextPageToken,
              }),
            ),
          )
          .finally(() => watch.abort.signal.removeEventListener('abort', cancel));
        let closing = false;
        watch.heard = true;
        for (const event of page.history?.events ?? []) {
          watch.length = Math.max(watch.length, Number(String(event.eventId)));
          if (event.eventType != null && CLOSING_EVENTS.has(event.eventType)) closing = true;
        }
        if (closing || !page.nextPageToken?.length) break;
        nextPageToken = page.nextPageToken;
      }
    } catch {
      // Temporal unreachable, the run gone, the poll cancelled: describes take over.
    } finally {
      this.end(workflowId, watch);
    }
  }

  private end(workflowId: string, watch: Watch): void {
    if (this.watches.get(workflowId) === watch) this.watches.delete(workflowId);
    watch.abort.abort();
  }
}
