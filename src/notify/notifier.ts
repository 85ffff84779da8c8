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
    });
    if (!response.ok) throw new Error(`webhook ${this.url} answered ${response.status}`);
  }
}

export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}
