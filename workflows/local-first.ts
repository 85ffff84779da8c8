import { isCancellation, patched, type LocalActivityOptions } from '@temporalio/workflow';

/**
 * The function a workflow calls for an activity it runs as a local activity behind the patch `patchId`: `regular`
 * (the activity as scheduled through the server) where a history recorded before the patch is replayed, `local`
 * in runs that reach this code with the patch, and `regular` again when the local activity gave up (its schedule-
 * to-close timeout): an outage longer than that is waited out by the server's retries, which add no events to the
 * history while they wait, where a local activity retrying would hold the workflow task open. Both must be the same
 * idempotent activity: the regular one may run after a local attempt whose effect was stored but not reported.
 */
export function localFirst<Args extends unknown[], Result>(
  patchId: string,
  local: (...args: Args) => Promise<Result>,
  regular: (...args: Args) => Promise<Result>,
): (...args: Args) => Promise<Result> {
  const either = localThenRegular(local, regular);
  return async (...args: Args) => (patched(patchId) ? either(...args) : regular(...args));
}

/** `local`, and `regular` when the local activity gave up: `localFirst` for a caller that checks its patch itself. */
export function localThenRegular<Args extends unknown[], Result>(
  local: (...args: Args) => Promise<Result>,
  regular: (...args: Args) => Promise<Result>,
): (...args: Args) => Promise<Result> {
  return async (...args: Args) => {
    try {
      return await local(...args);
    } catch (error) {
      if (isCancellation(error)) throw error;
      return regular(...args);
    }
  };
}

/**
 * Options for the local side of `localFirst`: each attempt limited to `startToCloseTimeout`, and all of them to about
 * a minute, after which the regular activity takes over. The attempts are counted as well as timed: the SDK's worker
 * (1.24) drops a schedule-to-close timeout that falls while a local activity waits between attempts, so a failure
 * that answers at once (a webhook's 503, a refused connection) would be retried locally for ever, its workflow task
 * held open and its history growing by three events every eight seconds.
 */
export function localFirstOptions(
  startToCloseTimeout: LocalActivityOptions['startToCloseTimeout'],
): LocalActivityOptions {
  return {
    startToCloseTimeout,
    scheduleToCloseTimeout: '1 minute',
    // Waits of 1, 2, 4, 8, 15, 15 and 15 s between the attempts: a minute.
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '15 seconds',
      maximumAttempts: LOCAL_ATTEMPTS,
    },
  };
}

/** How many times the local side of `localFirst` tries before the regular activity takes over. */
export const LOCAL_ATTEMPTS = 8;
