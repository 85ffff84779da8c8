import { LRUCache } from 'lru-cache';

/**
 * A short-lived cache for reads every open dashboard repeats. A value is served as it is for up to `freshMs` after
 * its load began (between half and all of it, at random, so that keys loaded together are not all refreshed
 * together); until twice `freshMs` it is still served, while one load refreshes it in the background (a busy key's
 * reads never wait for a refresh, and it is loaded at most once per `freshMs`); after that it is gone and the next
 * read waits for a load. Concurrent loads of one key are one load; a failed load or one that found nothing
 * (`undefined`) is not kept. Writes through this process call `forget` for what they change, and the next read
 * waits for a load that began after the write; other processes' writes show within twice `freshMs`.
 */
export interface ReadCache<V> {
  get(key: string): Promise<V | undefined>;
  forget(key: string): void;
}

interface Load<V> {
  promise: Promise<V | undefined>;
  /** Set by `forget`: the load may have read what the write changed, so nobody may use its result. */
  forgotten: boolean;
}

export function readCache<V extends object>(opts: {
  freshMs: number;
  max: number;
  load: (key: string) => Promise<V | undefined>;
  clock?: { now(): number };
}): ReadCache<V> {
  if (opts.freshMs === 0) return { get: opts.load, forget: () => undefined };
  const clock = opts.clock ?? performance;
  const entries = new LRUCache<string, { value: V; refreshAt: number }>({
    max: opts.max,
    ttl: 2 * opts.freshMs,
    perf: clock,
    // Read the clock on every check rather than reuse it for a millisecond: the age bound is exact.
    ttlResolution: 0,
  });
  const loads = new Map<string, Load<V>>();

  const loadOnce = (key: string): Load<V> => {
    const running = loads.get(key);
    if (running) return running;
    const loadedAt = clock.now();
    const load: Load<V> = {
      forgotten: false,
      promise: opts.load(key).then(
        (value) => {
          if (load.forgotten) return value;
          loads.delete(key);
          if (value !== undefined) {
            const refreshAt = loadedAt + opts.freshMs * (1 - Math.random() / 2);
            entries.set(key, { value, refreshAt }, { start: loadedAt });
          }
          return value;
        },
        (error: unknown) => {
          if (!load.forgotten) loads.delete(key);
          throw error;
        },
      ),
    };
    loads.set(key, load);
    return load;
  };

  return {
    async get(key) {
      const entry = entries.get(key);
      if (entry) {
        if (clock.now() >= entry.refreshAt) loadOnce(key).promise.catch(() => undefined);
        return entry.value;
      }
      for (;;) {
        const load = loadOnce(key);
        try {
          const value = await load.promise;
          if (!load.forgotten) return value;
        } catch (error) {
          if (!load.forgotten) throw error;
        }
      }
    },
    forget(key) {
      entries.delete(key);
      const load = loads.get(key);
      if (load) load.forgotten = true;
      loads.delete(key);
    },
  };
}
