import { percentile, round } from './report';

/** `count` calls of `call(i)`, at most `concurrency` at a time: throughput and latency of the whole pass. */
export interface PassResult {
  count: number;
  concurrency: number;
  elapsedMs: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export async function closedLoop(
  count: number,
  concurrency: number,
  call: (i: number) => Promise<unknown>,
): Promise<PassResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await call(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    count,
    concurrency,
    elapsedMs: round(elapsedMs, 1),
    perSecond: round((count * 1000) / elapsedMs, 1),
    p50Ms: round(percentile(latencies, 50), 1),
    p99Ms: round(percentile(latencies, 99), 1),
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
