import { status } from '@grpc/grpc-js';
import type { Client } from '@temporalio/client';
import { unavailable } from './problem';

const TEMPORAL_DEADLINE_MS = 3000;

/**
 * Runs a Temporal call with a short deadline; when Temporal cannot be reached the caller gets a 503 naming it,
 * instead of a request hanging through the client's retries.
 */
export async function callTemporal<T>(
  client: Client,
  fn: () => Promise<T>,
  deadlineMs = TEMPORAL_DEADLINE_MS,
): Promise<T> {
  try {
    return await client.connection.withDeadline(Date.now() + deadlineMs, fn);
  } catch (error) {
    if (isUnavailable(error)) throw unavailable(`Temporal is unreachable: ${describe(error)}`);
    throw error;
  }
}

function isUnavailable(error: unknown): boolean {
  const code =
    (error as { code?: number; cause?: { code?: number } })?.code ??
    (error as { cause?: { code?: number } })?.cause?.code;
  if (code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|Failed to connect/i.test(message);
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}
