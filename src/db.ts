import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { pgPoolConfig } from './config';
import { PrismaClient, type Prisma } from './generated/prisma/client';

/** The Rust-free Prisma client on a pg pool of its own, which `$disconnect` ends. */
export function createPrisma(
  databaseUrl: string,
  options: {
    max?: number;
    queryTimeoutMs?: number;
    /** Limits of interactive transactions: Prisma's own (2 s for a connection, 5 s in all) unless given. */
    transactions?: { maxWait: number; timeout: number };
  } = {},
): PrismaClient {
  const { transactions, ...poolOptions } = options;
  const pool = createPool(databaseUrl, poolOptions);
  return withPool(new PrismaClient({ adapter: adapterOn(pool), transactionOptions: transactions }), pool);
}

/**
 * How long a statement may wait for PostgreSQL's answer, and a new connection for its handshake. A server that is up
 * but does not answer (stopped, swapping, a dead network path) would otherwise hold every request that touches it,
 * forever; with these the request fails as "database unreachable" (the API answers 503) and a retry goes on when
 * the server answers again. Waiting for a free connection of the pool is not limited for a query (under load that is
 * a queue); an API transaction waits up to QUERY_TIMEOUT_MS for its connection (API_TRANSACTIONS).
 */
export const QUERY_TIMEOUT_MS = 15_000;
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * The API's interactive transactions wait for a connection as long as a statement may take, and may last as long as
 * two of them: Prisma's defaults (2 s to get a connection, 5 s in all) failed a write with a 500 whenever the pool was
 * busy for a moment, where a plain query would have waited its turn. The worker keeps Prisma's defaults: there a
 * transaction must end well inside its activity's timeout, or it could commit after the attempt was given up.
 */
export const API_TRANSACTIONS = { maxWait: QUERY_TIMEOUT_MS, timeout: 2 * QUERY_TIMEOUT_MS };

class ClientWithConnectTimeout extends pg.Client {
  constructor(config: pg.ClientConfig = {}) {
    // The pool hides the password from enumeration (so from a spread): it is passed on by name.
    super({ ...config, password: config.password, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  }
}

/** A pg pool for a Prisma client's adapter (`adapterOn`) that the client's owner may also query (`poolOf`). */
export function createPool(databaseUrl: string, options: { max?: number; queryTimeoutMs?: number } = {}): pg.Pool {
  const { queryTimeoutMs = QUERY_TIMEOUT_MS, ...poolOptions } = options;
  const pool = new pg.Pool({
    ...pgPoolConfig(databaseUrl),
    ...poolOptions,
    query_timeout: queryTimeoutMs,
    Client: ClientWithConnectTimeout,
  });
  // An idle connection the server dropped is discarded by the pool; the next query reports the outage.
  pool.on('error', () => undefined);
  return pool;
}

/** Prisma's adapter on `pool`, ending the pool when the client disconnects. */
export function adapterOn(pool: pg.Pool): PrismaPg {
  return new PrismaPg(pool, { disposeExternalPool: true });
}

const pools = new WeakMap<object, pg.Pool>();

/** Records the pg pool a Prisma client's adapter was given, for `poolOf`. */
export function withPool<C extends object>(prisma: C, pool: pg.Pool): C {
  pools.set(prisma, pool);
  return prisma;
}

/**
 * The pg pool under a Prisma client: for the few statements on the API's hottest path, where Prisma's own cost per
 * query (its query compiler runs even for raw SQL) is most of the work. Plain pg parses `timestamp` columns as local
 * time, so such a statement selects them `AT TIME ZONE 'UTC'` and sends times as ISO strings cast the same way.
 */
export function poolOf(prisma: object): pg.Pool {
  const pool = pools.get(prisma);
  if (!pool) throw new Error('this Prisma client was not made by createPrisma: it has no pg pool to share');
  return pool;
}

/**
 * Runs one statement written with `Prisma.sql` on the pg pool under `prisma` (`poolOf`), named so that each
 * connection parses and plans it once: for statements the worker runs for every review and escalation step. Values
 * and columns are what `$queryRaw` would make of them: a Date is sent as its UTC ISO string (which a `timestamp`
 * column stores as is, whatever the session's time zone), a `timestamp` column is read back as UTC and a `date`
 * column as UTC midnight, whatever the process's time zone. Unlike `$queryRaw`, `numeric` and `bigint` columns come
 * back as strings, and arrays of `timestamp` or `date` in local time: cast them in the statement.
 */
export async function queryOnPool<R extends object>(
  prisma: object,
  name: string,
  statement: Prisma.Sql,
): Promise<{ rows: R[]; rowCount: number }> {
  const { rows, rowCount } = await poolOf(prisma).query<R>({
    name,
    text: statement.text,
    values: statement.values.map((v) => (v instanceof Date ? v.toISOString() : v)),
    types: UTC_TYPES,
  });
  return { rows, rowCount: rowCount ?? 0 };
}

const UTC_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.TIMESTAMP) return (value: string) => new Date(`${value.replace(' ', 'T')}Z`);
    if (oid === pg.types.builtins.DATE) return (value: string) => new Date(`${value}T00:00:00.000Z`);
    return pg.types.getTypeParser(oid, format);
  },
};

export type { PrismaClient };

/** Fails fast with a line a person can act on when the database cannot be reached at start-up. */
export async function assertDatabaseReachable(prisma: PrismaClient, databaseUrl: string): Promise<void> {
  try {
    await prisma.$queryRaw`SELECT 1`;
  } catch (error) {
    const { host, port, database } = pgPoolConfig(databaseUrl);
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new Error(`cannot reach PostgreSQL at ${host}:${port}/${database} (check DATABASE_URL): ${reason}`);
  }
}

/** True for Prisma's unique-constraint violation (P2002): another write stored the same unique value first. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
}

/**
 * True when an error means PostgreSQL cannot be reached right now (refused, dropped or shutting down), as opposed
 * to a query that is wrong: the API answers 503 for it, and a retry later can succeed.
 */
export function isDatabaseUnreachable(error: unknown): boolean {
  for (let e = error as UnreachableCandidate | undefined, depth = 0; e && depth < 5; e = e.cause, depth++) {
    if (typeof e.code === 'string' && UNREACHABLE_PRISMA_CODES.has(e.code)) return true;
    if (e.code === 'P2028' && typeof e.message === 'string' && TRANSACTION_OUT_OF_TIME.test(e.message)) return true;
    const adapterCause = e.meta?.driverAdapterError?.cause;
    if (adapterCause && isUnreachableDriverError(adapterCause)) return true;
    if (isUnreachableDriverError(e)) return true;
    if (typeof e.message === 'string' && UNREACHABLE_MESSAGE.test(e.message)) return true;
  }
  return false;
}

interface UnreachableCandidate {
  code?: unknown;
  kind?: unknown;
  message?: unknown;
  meta?: { driverAdapterError?: { cause?: { kind?: unknown; code?: unknown } } };
  cause?: UnreachableCandidate;
}

/** P1001 cannot reach the server, P1002 it timed out, P1017 it closed the connection. */
const UNREACHABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1017']);
/**
 * P2028 for a transaction that found no connection, or could not finish, in its time (API_TRANSACTIONS): the database
 * too slow to answer. P2028 also reports a transaction used wrongly (after its end): a defect, not this.
 */
const TRANSACTION_OUT_OF_TIME = /Unable to start a transaction in the given time|on an expired transaction/;
const UNREACHABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout']);
const UNREACHABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH']);
/**
 * What pg throws, unmapped by the adapter, when the server vanishes without a goodbye (a crash, a cut network), or
 * does not answer in time (QUERY_TIMEOUT_MS, CONNECT_TIMEOUT_MS).
 */
const UNREACHABLE_MESSAGE =
  /Connection terminated unexpectedly|Client has encountered a connection error|Query read timeout|timeout expired|Connection terminated due to connection timeout/;

function isUnreachableDriverError(e: { kind?: unknown; code?: unknown }): boolean {
  if (typeof e.kind === 'string' && UNREACHABLE_KINDS.has(e.kind)) return true;
  // What plain pg throws (`poolOf`) when it cannot connect: the socket's own error.
  if (typeof e.code === 'string' && UNREACHABLE_SOCKET_CODES.has(e.code)) return true;
  // SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, cannot connect now), as the
  // adapter reports them or as plain pg throws them.
  const fromServer = e.kind === 'postgres' || e instanceof pg.DatabaseError;
  return fromServer && typeof e.code === 'string' && /^(08|57P)/.test(e.code);
}
