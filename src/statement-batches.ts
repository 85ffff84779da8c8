import DataLoader from 'dataloader';
import { isDatabaseUnreachable } from './db';

/**
 * One SQL statement for the items of many requests (group commit): an item joins the batch that goes next, one batch
 * runs at a time, and the items that arrive while it runs go together in the one after it. An idle API sends an
 * item's batch at once (after the current turn of the event loop); a busy one sends a statement per batch instead of
 * per request, which is where a start's cost lies (docs/performance.md, section 2).
 *
 * `run` answers each item in order, or an `Error` for one. When a whole batch fails for a reason other than the
 * database being unreachable, its items run again one by one, so that only the item that caused it fails.
 */
export function statementBatches<K, V>(
  run: (items: readonly K[]) => Promise<ReadonlyArray<V | Error>>,
): DataLoader<K, V> {
  let running: Promise<unknown> = Promise.resolve();
  const runIsolated = async (items: readonly K[]): Promise<ReadonlyArray<V | Error>> => {
    try {
      return await run(items);
    } catch (error) {
      if (items.length === 1 || isDatabaseUnreachable(error)) throw error;
      return Promise.all(
        items.map((item) =>
          run([item]).then(
            ([one]) => one,
            (e: unknown) => asError(e),
          ),
        ),
      );
    }
  };
  return new DataLoader<K, V>(
    (items) => {
      const batch = runIsolated(items);
      running = batch.catch(() => undefined);
      return batch;
    },
    {
      cache: false,
      maxBatchSize: MAX_BATCH,
      batchScheduleFn: (dispatch) => void running.then(() => setImmediate(dispatch)),
    },
  );
}

/** Items in one statement at the most: a burst larger than this goes in several, sent together. */
const MAX_BATCH = 200;

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
