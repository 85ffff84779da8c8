import type { Interceptor } from '@grpc/grpc-js';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { Config } from '../config';

/**
 * How soon a process notices that Temporal is back after an outage. gRPC's own reconnect backoff grows to two
 * minutes, which would keep an API answering 503 long after the cluster has returned.
 */
const MAX_RECONNECT_BACKOFF_MS = 5000;

/**
 * A client for the configured cluster: the dev server, self-hosted, or Temporal Cloud (API key implies TLS).
 * `retries: false` gives a connection whose calls fail at the first refusal (for long polls that must not be retried
 * behind their caller's back).
 */
export async function connectTemporal(
  temporal: Config['temporal'],
  opts: { lazy?: boolean; retries?: boolean } = {},
): Promise<Client> {
  const options = {
    address: temporal.address,
    tls: temporal.tls || undefined,
    apiKey: temporal.apiKey,
    channelArgs: { 'grpc.max_reconnect_backoff_ms': MAX_RECONNECT_BACKOFF_MS },
    interceptors: opts.retries === false ? [] : [retryWithinDeadline()],
  };
  // A lazy connection dials on first use, so a process can start while Temporal is down and recover when it is back.
  const connection = opts.lazy ? Connection.lazy(options) : await Connection.connect(options);
  return new Client({ connection, namespace: temporal.namespace });
}

/**
 * The SDK's default retries of failed calls, except one that would start after the call's deadline: a request
 * refused for an unreachable Temporal then answers at once and leaves no retry timer behind.
 */
function retryWithinDeadline(): Interceptor {
  const defaults = defaultGrpcRetryOptions();
  return (options, nextCall) => {
    const deadline = options.deadline === undefined ? Infinity : Number(options.deadline);
    let delayMs = 0;
    return makeGrpcRetryInterceptor({
      retryableDecider: (attempt, status) => {
        if (!defaults.retryableDecider(attempt, status)) return false;
        delayMs = defaults.delayFunction(attempt, status);
        return Date.now() + delayMs < deadline;
      },
      delayFunction: () => delayMs,
    })(options, nextCall);
  };
}

/** Resolves once the namespace answers: a listening port alone does not mean the frontend is ready. */
export async function waitForNamespace(client: Client, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.workflowService.describeNamespace({ namespace: client.options.namespace });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
