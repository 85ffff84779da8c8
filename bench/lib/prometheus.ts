/** Reads the worker's Prometheus endpoint (Runtime telemetry) into `name{labels}` → value. */
export type Metrics = Map<string, number>;

export async function scrape(port: number): Promise<Metrics> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const metrics: Metrics = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    metrics.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return metrics;
}

/** Sum of every series of a metric whose labels contain all of `labels` (e.g. `worker_type="ActivityWorker"`). */
export function sum(metrics: Metrics, name: string, ...labels: string[]): number {
  let total = 0;
  for (const [series, value] of metrics) {
    const bare = series.split('{')[0];
    if (bare !== name) continue;
    if (labels.every((label) => series.includes(label))) total += value;
  }
  return total;
}

/** Names of the metrics present, to say which were found when an expected one is missing. */
export function names(metrics: Metrics): string[] {
  return [...new Set([...metrics.keys()].map((series) => series.split('{')[0]))].sort();
}

/** Mean of a histogram in milliseconds, from its `_sum` and `_count` (the SDK exports milliseconds). */
export function histogramMeanMs(metrics: Metrics, name: string, ...labels: string[]): number {
  const count = sum(metrics, `${name}_count`, ...labels);
  return count ? sum(metrics, `${name}_sum`, ...labels) / count : NaN;
}

/** An upper bound of the p-th percentile from cumulative `_bucket` series (their `le` bounds). */
export function histogramPercentileMs(metrics: Metrics, name: string, p: number, ...labels: string[]): number {
  const buckets = new Map<number, number>();
  for (const [series, value] of metrics) {
    if (series.split('{')[0] !== `${name}_bucket` || !labels.every((label) => series.includes(label))) continue;
    const le = series.match(/le="([^"]+)"/)?.[1];
    if (!le) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + value);
  }
  const sorted = [...buckets].sort(([a], [b]) => a - b);
  const total = sorted[sorted.length - 1]?.[1] ?? 0;
  if (!total) return NaN;
  return sorted.find(([, cumulative]) => cumulative >= (p / 100) * total)![0];
}
