import etag from 'etag';
import { LRUCache } from 'lru-cache';

/**
 * A short-lived cache for reads every open dashboard repeats. A value is served as it is until a random 50–100 %
 * of `freshMs` after its load began (so that keys loaded together are not all refreshed together); from then until
 * twice `freshMs` it is still served, while one load refreshes it in the background (a busy key's reads never wait
 * for a refresh); after that it is gone and the next read waits for a load. Concurrent loads of one key are one
 * load; a failed load or one that found nothing (`undefined`) is not kept. A refresh is handed the value it replaces,
 * so that it can revalidate parts of it instead of loading them again. Writes through this process call
 * `forget` (or `clear`) for what they change: the next read waits for a load that begins after the write, and a
 * load already running answers the reads that joined it (they overlap the write) but is not kept. Other processes'
 * writes show within twice `freshMs`.
 */
export interface ReadCache<V> {
  get(key: string): Promise<V | undefined>;
  forget(key: string): void;
  clear(): void;
}

interface Load<V> {
  promise: Promise<V | undefined>;
  /** Set by `forget`: the load may have read what the write changed, so it is not kept. */
  forgotten: boolean;
}

export function readCache<V extends object>(opts: {
  freshMs: number;
  max: number;
  load: (key: string, replacing?: V) => Promise<V | undefined>;
  clock?: { now(): number };
}): ReadCache<V> {
  if (opts.freshMs === 0) return { get: (key) => opts.load(key), forget: () => undefined, clear: () => undefined };
  const clock = opts.clock ?? performance;
  const entries = new LRUCache<string, { value: V; refreshAt: number }>({
    max: opts.max,
    ttl: 2 * opts.freshMs,
    perf: clock,
    // Entries leave at their age limit, read again or not: a quiet API holds nothing.
    ttlAutopurge: true,
    // Read the clock on every check rather than reuse it for a millisecond: the age bound is exact.
    ttlResolution: 0,
  });
  const loads = new Map<string, Load<V>>();

  const loadOnce = (key: string, replacing?: V): Load<V> => {
    const running = loads.get(key);
    if (running) return running;
    const loadedAt = clock.now();
    const load: Load<V> = {
      forgotten: false,
      promise: opts.load(key, replacing).then(
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
        if (clock.now() >= entry.refreshAt) loadOnce(key, entry.value).promise.catch(() => undefined);
        return entry.value;
      }
      return loadOnce(key).promise;
    },
    forget(key) {
      entries.delete(key);
      const load = loads.get(key);
      if (load) load.forgotten = true;
      loads.delete(key);
    },
    clear() {
      entries.clear();
      for (const load of loads.values()) load.forgotten = true;
      loads.clear();
    },
  };
}

/**
 * A body serialised once for the reads a cache serves, with the weak ETag Express would compute for those bytes on
 * every response (`etag` with `weak: true`, its default): kept, it is hashed once per serialisation.
 */
export function serialised(body: unknown): { json: string; etag: string } {
  const json = JSON.stringify(body);
  return { json, etag: etag(json, { weak: true }) };
}
