import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/** The one place the environment is read. Every process validates it at start-up and stops on a bad value. */

const port = z.coerce
  .number({ error: 'must be a port number' })
  .int('must be a whole number')
  .min(1, 'must be between 1 and 65535')
  .max(65535, 'must be between 1 and 65535');

const postgresUrl = z
  .string()
  .refine(
    (value) => /^postgres(ql)?:\/\/[^/]+\/[^/?]+/.test(value),
    'must look like postgresql://user:pass@host:port/db',
  );

const hostPort = z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port');

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

const schema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  EMBEDDED_POSTGRES_PORT: port.default(54329),
  TEMPORAL_ADDRESS: hostPort.optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('bpo-lifecycle'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: z.enum(['true', 'false']).default('false'),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_UI_URL: z.url().optional(),
  API_PORT: port.default(3000),
  API_READ_CACHE_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number')
    .min(0, 'must be 0 (no cache) or more')
    .max(60_000, 'must be at most 60000')
    .default(1000),
  API_UPDATE_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number')
    .min(1000, 'must be at least 1000')
    .max(300_000, 'must be at most 300000')
    .default(30_000),
  API_WORKFLOW_WATCHES: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must be 0 (none) or more')
    .max(100_000, 'must be at most 100000')
    .default(1000),
  DATA_DIR: z.string().min(1).default('.data'),
  CACHE_DIR: z.string().min(1).optional(),
  LOG_LEVEL: logLevel.default('info'),
  NOTIFY_WEBHOOK_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    // fetch refuses to send to a URL with credentials (and would print them): they go in the path or a header.
    .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), 'must not carry a user name or password')
    .optional(),
  NOTIFY_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
});

/** Every environment variable the product reads. */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

export interface Config {
  databaseUrl: string;
  /** True when no DATABASE_URL was given: `npm start` runs PostgreSQL itself under the data dir. */
  embeddedPostgres: boolean;
  embeddedPostgresPort: number;
  temporal: {
    address: string;
    /** True when no TEMPORAL_ADDRESS was given: `npm start` runs the Temporal CLI dev server. */
    devServer: boolean;
    namespace: string;
    taskQueue: string;
    apiKey?: string;
    tls: boolean;
    cliPath?: string;
    uiPort: number;
    uiUrl: string;
  };
  apiPort: number;
  /**
   * How long the API serves a read it has loaded (API keys, engagement detail, portfolio pages) before it refreshes
   * it; a change made elsewhere shows within twice this, and writes through the same API process drop what they
   * change at once. 0 turns the cache off.
   */
  readCacheMs: number;
  /**
   * How long a route that steers a workflow (an update: acknowledge, approve a gate, decide a renewal…) waits for the
   * workflow's answer before telling the caller it has none yet (504): no worker is running it, or it is busy.
   */
  updateTimeoutMs: number;
  /**
   * Running lifecycle workflows whose histories the API follows at once, one long poll each, so that their cached
   * live state is known current without asking Temporal; others are described when their cache entry is refreshed.
   * 0 follows none.
   */
  workflowWatches: number;
  dataDir: string;
  /** Downloaded or built tools (Temporal CLI, test server) live here, outside the checkout, shared by clones. */
  cacheDir: string;
  logLevel: z.infer<typeof logLevel>;
  /** Outgoing webhook for notifications (besides the log); signed with the secret. */
  webhook?: { url: string; secret: string };
}

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration: ${issues.join('; ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means unset, as in most shells' `VAR= command`.
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(given);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`));
  }
  const e = parsed.data;
  if (e.NOTIFY_WEBHOOK_URL && !e.NOTIFY_WEBHOOK_SECRET) {
    throw new ConfigError(['NOTIFY_WEBHOOK_SECRET is required when NOTIFY_WEBHOOK_URL is set']);
  }
  const dataDir = path.resolve(e.DATA_DIR);
  const embeddedPostgres = e.DATABASE_URL === undefined;
  const devServer = e.TEMPORAL_ADDRESS === undefined;
  return {
    databaseUrl: e.DATABASE_URL ?? `postgresql://postgres:postgres@127.0.0.1:${e.EMBEDDED_POSTGRES_PORT}/bpo`,
    embeddedPostgres,
    embeddedPostgresPort: e.EMBEDDED_POSTGRES_PORT,
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? `127.0.0.1:${e.TEMPORAL_DEV_PORT}`,
      devServer,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY,
      tls: e.TEMPORAL_TLS === 'true' || e.TEMPORAL_API_KEY !== undefined,
      cliPath: e.TEMPORAL_CLI_PATH,
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: e.TEMPORAL_UI_URL ?? `http://localhost:${e.TEMPORAL_UI_PORT}`,
    },
    apiPort: e.API_PORT,
    readCacheMs: e.API_READ_CACHE_MS,
    updateTimeoutMs: e.API_UPDATE_TIMEOUT_MS,
    workflowWatches: e.API_WORKFLOW_WATCHES,
    dataDir,
    cacheDir: path.resolve(
      e.CACHE_DIR ?? path.join(given.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'bpo-orchestrator'),
    ),
    logLevel: e.LOG_LEVEL,
    webhook: e.NOTIFY_WEBHOOK_URL ? { url: e.NOTIFY_WEBHOOK_URL, secret: e.NOTIFY_WEBHOOK_SECRET ?? '' } : undefined,
  };
}

/** pg pool settings from a URL, as separate fields so Prisma's adapter can swap the database for its shadow one. */
export function pgPoolConfig(databaseUrl: string) {
  const url = new URL(databaseUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
    ssl: url.searchParams.get('sslmode') === 'require' ? { rejectUnauthorized: false } : undefined,
  };
}
