/** Wraps every activity so the benchmark knows how many ran (retries included) and for how long, by name. */
export interface ActivityStats {
  count: number;
  totalMs: number;
}

export function countingActivities<T extends object>(activities: T, stats: Map<string, ActivityStats>): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        const started = performance.now();
        try {
          return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
        } finally {
          const s = stats.get(name) ?? { count: 0, totalMs: 0 };
          s.count++;
          s.totalMs += performance.now() - started;
          stats.set(name, s);
        }
      },
    ]),
  ) as T;
}
