import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';

/** A client for the configured cluster: the dev server, self-hosted, or Temporal Cloud (API key implies TLS). */
export async function connectTemporal(temporal: Config['temporal'], opts: { lazy?: boolean } = {}): Promise<Client> {
  const options = { address: temporal.address, tls: temporal.tls || undefined, apiKey: temporal.apiKey };
  // A lazy connection dials on first use, so a process can start while Temporal is down and recover when it is back.
  const connection = opts.lazy ? Connection.lazy(options) : await Connection.connect(options);
  return new Client({ connection, namespace: temporal.namespace });
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
