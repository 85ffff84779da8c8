import { LRUCache } from 'lru-cache';

/**
 * A short-lived cache for reads every open dashboard repeats: an entry serves for `ttlMs`, concurrent misses of one
 * key share one load, a failed load is not kept, and a load that finds nothing (`undefined`) is not kept either.
 * Writes through this process call `forget` for what they change; other processes' writes show within `ttlMs`.
 */
export interface ReadCache<V> {
  get(key: string): Promise<V | undefined>;
  forget(key: string): void;
}

export function readCache<V extends object>(opts: {
  ttlMs: number;
  max: number;
  load: (key: string) => Promise<V | undefined>;
}): ReadCache<V> {
  if (opts.ttlMs === 0) return { get: opts.load, forget: () => undefined };
  const cache = new LRUCache<string, V>({
    max: opts.max,
    ttl: opts.ttlMs,
    fetchMethod: (key) => opts.load(key),
  });
  let forgets = 0;
  return {
    async get(key) {
      for (;;) {
        const seen = forgets;
        try {
          return await cache.fetch(key);
        } catch (error) {
          // `forget` during a load aborts it (its result may predate the write): load again.
          if (forgets === seen) throw error;
        }
      }
    },
    forget(key) {
      forgets += 1;
      cache.delete(key);
    },
  };
}
