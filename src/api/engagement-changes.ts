import pg from 'pg';
import { pgPoolConfig } from '../config';
import type { Logger } from '../logger';

/** The channel the triggers of migration 20261123210000 announce a changed engagement's id on. */
export const CHANNEL = 'engagement_changed';
/** The channel the triggers of migration 20261202050000 announce on: what the portfolio reads besides engagements. */
const PORTFOLIO_CHANNEL = 'portfolio_changed';
const HEARTBEAT_MS = 10_000;
const MAX_RETRY_MS = 10_000;

/**
 * Announces on the same channel changes no trigger sees (a lifecycle workflow started), so that every API process
 * drops what it kept about the engagement. The announcements of `windowMs` go in one statement (a busy API starts
 * many engagements a second); one that fails (the database unreachable) is not retried: what the other processes
 * kept then ages out (`FACTS_KEPT_MS`).
 */
export function changeAnnouncements(pool: pg.Pool, windowMs = ANNOUNCE_WINDOW_MS): (engagementId: string) => void {
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    const ids = [...pending];
    pending = new Set();
    timer = undefined;
    pool.query({ name: 'announce-engagement-changes', text: ANNOUNCE, values: [CHANNEL, ids] }).catch(() => undefined);
  };
  return (engagementId) => {
    pending.add(engagementId);
    timer ??= setTimeout(flush, windowMs).unref();
  };
}

const ANNOUNCE = 'SELECT pg_notify($1, id) FROM unnest($2::text[]) AS id';
const ANNOUNCE_WINDOW_MS = 20;

export interface ChangeSubscriber {
  /** The engagement with this id changed (committed), in this process or any other. */
  change(engagementId: string): void;
  /** Something the portfolio shows besides engagements' own facts changed (volume, phases, reviews, escalations…). */
  portfolioChange?(): void;
  /** Changes may have gone unheard: drop whatever was kept on the strength of hearing them. */
  gap(): void;
}

/**
 * Which engagements change, heard on one LISTEN connection of the API process's own. While `listening`, every
 * committed change to what GET /engagements/:id shows reaches the subscribers, whoever made it (an API process, a
 * workflow's activity, a person with psql), so a cached engagement can be kept until it changes. The connection is
 * checked every 10 s and, when it drops, subscribers hear `gap` and it is opened again with backoff.
 *
 * Hand-written on `pg` rather than on pg-listen: that package (last released 2021) stops retrying after a timeout
 * by default and keeps retrying after `close()`.
 */
export class EngagementChanges {
  private readonly subscribers = new Set<ChangeSubscriber>();
  private client: pg.Client | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private attempts = 0;
  private closed = false;
  private opened: Promise<void> | undefined;
  private retried = false;
  private readonly dropped = new WeakSet<pg.Client>();

  constructor(
    private readonly databaseUrl: string,
    private readonly log: Logger,
  ) {}

  /** True while every change is heard. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  subscribe(subscriber: ChangeSubscriber): void {
    this.subscribers.add(subscriber);
  }

  /** Starts listening; resolves once the first attempt has listened or failed (later attempts run on their own). */
  open(): Promise<void> {
    this.opened ??= this.connect();
    return this.opened;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    if (client) this.drop(client);
  }

  private async connect(): Promise<void> {
    this.retry = undefined;
    const client = new pg.Client({
      ...pgPoolConfig(this.databaseUrl),
      keepAlive: true,
      // A heartbeat on a half-open connection fails instead of waiting for TCP to notice.
      query_timeout: HEARTBEAT_MS / 2,
      application_name: 'bpo-api engagement changes',
    });
    // Without an 'error' listener a dropped connection would crash the process.
    client.on('error', (error) => this.drop(client, error));
    client.on('end', () => this.drop(client));
    client.on('notification', ({ channel, payload }) => {
      if (channel === PORTFOLIO_CHANNEL) for (const subscriber of this.subscribers) subscriber.portfolioChange?.();
      if (channel !== CHANNEL || !payload) return;
      for (const subscriber of this.subscribers) subscriber.change(payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}; LISTEN ${PORTFOLIO_CHANNEL}`);
    } catch (error) {
      this.drop(client, error);
      return;
    }
    if (this.closed) {
      this.drop(client);
      return;
    }
    this.client = client;
    this.attempts = 0;
    this.heartbeat = setInterval(() => {
      client.query('SELECT 1').catch((error: unknown) => this.drop(client, error));
    }, HEARTBEAT_MS).unref();
    if (this.retried) this.log.info('listening for engagement changes again');
  }

  /** Closes a connection for good; if it was the listening one, subscribers hear of the gap and a new one follows. */
  private drop(client: pg.Client, error?: unknown): void {
    if (this.dropped.has(client)) return;
    this.dropped.add(client);
    if (this.client === client) {
      this.client = undefined;
      clearInterval(this.heartbeat);
      for (const subscriber of this.subscribers) subscriber.gap();
    }
    client.removeAllListeners('notification');
    client.removeAllListeners('end');
    // Errors of a connection being given up are of no further interest; the listener stays so none can crash us.
    client.end().catch(() => undefined);
    if (this.closed || this.retry) return;
    const delay = Math.min(MAX_RETRY_MS, 250 * 2 ** this.attempts++);
    this.log.warn(
      { err: error instanceof Error ? error.message : error, retryInMs: delay },
      'not listening for engagement changes: cached engagement details expire by age until it listens again',
    );
    this.retried = true;
    this.retry = setTimeout(() => void this.connect(), delay).unref();
  }
}
