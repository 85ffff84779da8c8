import { createHmac } from 'node:crypto';
import type { Logger } from '../logger';

/** One notification, addressed to a named role. `eventKey` identifies the event: the same key is sent once. */
export interface Notice {
  eventKey: string;
  engagementId?: string;
  recipient: { role: string; name?: string; email?: string };
  subject: string;
  body: string;
  data?: Record<string, unknown>;
}

/** Where notices go. Implementations throw on failure; the caller (a Temporal activity) retries. */
export interface Notifier {
  readonly channel: string;
  send(notice: Notice): Promise<void>;
}

export class LogNotifier implements Notifier {
  readonly channel = 'log';
  constructor(private readonly log: Logger) {}
  async send(notice: Notice): Promise<void> {
    this.log.info({ notice }, `notify ${notice.recipient.role}: ${notice.subject}`);
  }
}

/**
 * POSTs the notice as JSON. Receivers verify `X-Bpo-Signature: sha256=<hex HMAC of "<timestamp>.<body>">` with the
 * shared secret, and de-duplicate on `X-Bpo-Event-Id`.
 */
export class WebhookNotifier implements Notifier {
  readonly channel = 'webhook';
  constructor(
    private readonly url: string,
    private readonly secret: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async send(notice: Notice): Promise<void> {
    const body = JSON.stringify(notice);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const response = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-bpo-event-id': notice.eventKey,
        'x-bpo-timestamp': timestamp,
        'x-bpo-signature': signWebhook(this.secret, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(this.timeoutMs),
      // A redirect would be followed as a GET without the notice, and its 200 taken for a delivery: a 3xx fails.
      redirect: 'manual',
    });
    // The answer's body is not used; read to the end, the connection goes back to the pool.
    await response.arrayBuffer().catch(() => undefined);
    // The URL is not named: webhook URLs often carry their secret, and this message reaches logs and histories.
    if (response.status < 200 || response.status > 299)
      throw new Error(`webhook at ${new URL(this.url).host} answered ${response.status}`);
  }
}

export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}
