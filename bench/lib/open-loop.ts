import http from 'node:http';

export interface OpenLoopResult {
  /** Responses with a 2xx status per second of the pass. */
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** The first few errors' messages, to say what they were. */
  errorMessages?: string[];
}

/**
 * An open-model load generator (constant arrival rate, as wrk2 and k6's constant-arrival-rate executor): request i
 * is due at start + i / rate whatever the previous ones are doing, and its latency counts from that due time, so
 * a slow server (or a late generator) shows in the latencies instead of lowering the rate. autocannon's
 * `overallRate` cannot do this: it lets each connection send its share of a second back to back at the start of
 * the second, so 200 req/s arrives as bursts.
 */
export async function openLoop(opts: {
  url: string;
  /** Paths to request in turn; the URL's own path when absent. */
  paths?: string[];
  headers: Record<string, string>;
  rate: number;
  seconds: number;
}): Promise<OpenLoopResult> {
  const url = new URL(opts.url);
  const paths = opts.paths ?? [url.pathname + url.search];
  // Idle sockets close before the server's keep-alive timeout (5 s) would close them under a request being sent.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 4000 });
  const total = Math.round(opts.rate * opts.seconds);
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const errorMessages: string[] = [];
  let ok = 0;

  const send = (path: string, dueAt: number) =>
    new Promise<void>((resolve) => {
      let done = false;
      const finish = (outcome: 'ok' | 'non2xx' | Error) => {
        if (done) return;
        done = true;
        if (outcome instanceof Error) {
          errors += 1;
          if (errorMessages.length < 3) errorMessages.push(outcome.message);
        } else {
          if (outcome === 'ok') ok += 1;
          else non2xx += 1;
          latencies.push(performance.now() - dueAt);
        }
        resolve();
      };
      const req = http.get({ host: url.hostname, port: url.port, path, headers: opts.headers, agent }, (res) => {
        res.resume();
        res.on('end', () => finish(res.statusCode! >= 200 && res.statusCode! < 300 ? 'ok' : 'non2xx'));
        // A response cut off mid-body ends neither with 'end' nor with an error on the request.
        res.on('close', () => finish(new Error('response closed before its end')));
      });
      req.on('error', (error) => finish(error));
    });

  const startedAt = performance.now();
  const inFlight: Array<Promise<void>> = [];
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    while (sent < total && startedAt + (sent * 1000) / opts.rate <= now) {
      inFlight.push(send(paths[sent % paths.length], startedAt + (sent * 1000) / opts.rate));
      sent += 1;
    }
    const nextDue = startedAt + (sent * 1000) / opts.rate;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, nextDue - performance.now())));
  }
  await Promise.all(inFlight);
  const elapsedS = (performance.now() - startedAt) / 1000;
  agent.destroy();

  if (latencies.length === 0) throw new Error(`no request of ${total} answered: ${errorMessages.join('; ')}`);
  latencies.sort((a, b) => a - b);
  const tenth = (ms: number) => Math.round(ms * 10) / 10;
  const at = (q: number) => tenth(latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]);
  return {
    requestsPerSecond: Math.round((ok / elapsedS) * 10) / 10,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    maxMs: tenth(latencies[latencies.length - 1]),
    requests: latencies.length + errors,
    non2xx,
    errors,
    ...(errors && { errorMessages }),
  };
}
