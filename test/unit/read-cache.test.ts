import { readCache } from '../../src/api/read-cache';

/** A load whose calls the test counts and finishes by hand. */
function controlledLoad() {
  const pending: Array<{ key: string; finish: (value: { n: number } | undefined) => void; fail: (e: Error) => void }> =
    [];
  let calls = 0;
  const load = (key: string) =>
    new Promise<{ n: number } | undefined>((resolve, reject) => {
      calls += 1;
      pending.push({ key, finish: resolve, fail: reject });
    });
  return { load, pending, calls: () => calls };
}

/** Lets the cache's promise chains run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('read cache', () => {
  it('shares one load between concurrent reads of a key and serves the next read from it', async () => {
    const l = controlledLoad();
    const cache = readCache({ freshMs: 60_000, max: 10, load: l.load });
    const reads = [cache.get('a'), cache.get('a'), cache.get('a')];
    await settle();
    l.pending[0].finish({ n: 1 });
    expect(await Promise.all(reads)).toEqual([{ n: 1 }, { n: 1 }, { n: 1 }]);
    expect(await cache.get('a')).toEqual({ n: 1 });
    expect(l.calls()).toBe(1);
  });

  it('answers the reads that joined a load a forget overtook, but keeps it not: the next read loads again', async () => {
    const l = controlledLoad();
    const cache = readCache({ freshMs: 60_000, max: 10, load: l.load });
    const overlapping = cache.get('a');
    await settle();
    cache.forget('a');
    l.pending[0].finish({ n: 1 });
    expect(await overlapping).toEqual({ n: 1 });
    const next = cache.get('a');
    await settle();
    expect(l.calls()).toBe(2);
    l.pending[1].finish({ n: 2 });
    expect(await next).toEqual({ n: 2 });
    expect(await cache.get('a')).toEqual({ n: 2 });
    expect(l.calls()).toBe(2);
  });

  it('loads every key again after clear', async () => {
    let calls = 0;
    const cache = readCache({ freshMs: 60_000, max: 10, load: async (key) => ({ key, n: ++calls }) });
    await cache.get('a');
    await cache.get('b');
    cache.clear();
    expect([await cache.get('a'), await cache.get('b')]).toEqual([
      { key: 'a', n: 3 },
      { key: 'b', n: 4 },
    ]);
  });

  it('keeps neither a failed load nor one that found nothing', async () => {
    const l = controlledLoad();
    const cache = readCache({ freshMs: 60_000, max: 10, load: l.load });
    const failed = cache.get('a');
    await settle();
    l.pending[0].fail(new Error('database down'));
    await expect(failed).rejects.toThrow('database down');
    const missing = cache.get('a');
    await settle();
    l.pending[1].finish(undefined);
    expect(await missing).toBeUndefined();
    const found = cache.get('a');
    await settle();
    l.pending[2].finish({ n: 3 });
    expect(await found).toEqual({ n: 3 });
    expect(l.calls()).toBe(3);
  });

  it('loads on every read when its period is 0', async () => {
    let calls = 0;
    const cache = readCache({ freshMs: 0, max: 10, load: async () => ({ n: ++calls }) });
    expect([await cache.get('a'), await cache.get('a')]).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('serves a value past its fresh period while one load refreshes it, and never after twice that', async () => {
    const l = controlledLoad();
    // lru-cache takes a start time of 0 for "no start": the clock starts later.
    const clock = { t: 1000, now: () => clock.t };
    const cache = readCache({ freshMs: 500, max: 10, load: l.load, clock });
    const first = cache.get('a');
    await settle();
    l.pending[0].finish({ n: 1 });
    expect(await first).toEqual({ n: 1 });

    clock.t = 1249;
    expect(await cache.get('a')).toEqual({ n: 1 });
    expect(l.calls()).toBe(1);

    clock.t = 1600;
    expect(await Promise.all([cache.get('a'), cache.get('a')])).toEqual([{ n: 1 }, { n: 1 }]);
    expect(l.calls()).toBe(2);
    l.pending[1].finish({ n: 2 });
    await settle();
    expect(await cache.get('a')).toEqual({ n: 2 });

    clock.t = 1600 + 1001;
    const late = cache.get('a');
    await settle();
    expect(l.calls()).toBe(3);
    l.pending[2].finish({ n: 3 });
    expect(await late).toEqual({ n: 3 });
  });
});
