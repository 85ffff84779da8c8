import { statementBatches } from '../../src/statement-batches';

/** A batch function whose batches the test answers one at a time. */
function controlledRun() {
  const batches: Array<{ items: readonly number[]; answer: () => void; fail: (error: Error) => void }> = [];
  let arrived: () => void = () => undefined;
  const run = (items: readonly number[]) =>
    new Promise<number[]>((resolve, reject) => {
      batches.push({ items, answer: () => resolve(items.map((n) => n * 10)), fail: reject });
      arrived();
    });
  const nextBatch = () =>
    new Promise<void>((resolve) => {
      arrived = resolve;
    });
  return { batches, run, nextBatch };
}

describe('statement batches (group commit)', () => {
  it('sends the items of one moment together, and those arriving while a batch runs together in the next', async () => {
    const { batches, run, nextBatch } = controlledRun();
    const loader = statementBatches(run);

    // given three items at one moment
    let first = nextBatch();
    const a = [1, 2, 3].map((n) => loader.load(n));
    await first;
    // when four more arrive, over several turns of the event loop, while that batch runs
    const b: Array<Promise<number>> = [];
    for (const n of [4, 5, 6, 7]) {
      b.push(loader.load(n));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(batches).toHaveLength(1);
    first = nextBatch();
    batches[0].answer();

    // then the first batch answers its own items, and the four go in one batch once it is done
    await expect(Promise.all(a)).resolves.toEqual([10, 20, 30]);
    await first;
    expect(batches.map((batch) => batch.items)).toEqual([
      [1, 2, 3],
      [4, 5, 6, 7],
    ]);
    batches[1].answer();
    await expect(Promise.all(b)).resolves.toEqual([40, 50, 60, 70]);
  });

  it('runs the items of a failed batch again one by one, so that only the item that caused it fails', async () => {
    const calls: Array<readonly number[]> = [];
    const loader = statementBatches(async (items: readonly number[]) => {
      calls.push(items);
      if (items.includes(13)) throw new Error('violates a constraint');
      return items.map((n) => n * 10);
    });

    const results = await Promise.allSettled([12, 13, 14].map((n) => loader.load(n)));

    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      120,
      'violates a constraint',
      140,
    ]);
    expect(calls).toEqual([[12, 13, 14], [12], [13], [14]]);
  });

  it('fails the whole batch at once when the database cannot be reached, without a retry per item', async () => {
    const calls: Array<readonly number[]> = [];
    const loader = statementBatches(async (items: readonly number[]) => {
      calls.push(items);
      throw new Error('Connection terminated unexpectedly');
    });

    const results = await Promise.allSettled([1, 2].map((n) => loader.load(n)));

    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toEqual([[1, 2]]);
  });

  it('answers a lone item without waiting for company', async () => {
    const loader = statementBatches(async (items: readonly number[]) => items.map((n) => n + 1));
    await expect(loader.load(41)).resolves.toBe(42);
  });
});
