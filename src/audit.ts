import type DataLoader from 'dataloader';
import type { Pool } from 'pg';
import { newId } from './ids';
import type { Prisma } from './generated/prisma/client';

type Tx = Pick<Prisma.TransactionClient, 'auditLog'>;

type AuditEntry = {
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  before?: unknown;
  after?: unknown;
};

/** Records one write: who did what to which entity, with its state before and after. Call inside the write's transaction. */
export async function audit(tx: Tx, entry: AuditEntry): Promise<void> {
  await tx.auditLog.create({ data: rowOf(entry) });
}

function rowOf(entry: AuditEntry) {
  return {
    actor: entry.actor,
    action: entry.action,
    entityType: entry.entityType,
    entityId: entry.entityId,
    before: toJson(entry.before),
    after: toJson(entry.after),
  };
}

/** A write that has no transaction of its own to join (a workflow started), to record once per `key`. */
export type AuditOnce = AuditEntry & { key: string };

/**
 * Where writes that have no transaction of their own to join (a workflow started) are recorded, each once per its
 * `key`: a repeat of the same write (a retried request finding the workflow it started) finds the entry and adds
 * none. The entries of one moment go in one statement on the pg pool under Prisma (group commit): the start path's
 * (`startStatements`, with the starts of their moment), or `recordOnce`'s.
 */
export type AuditBatches = Pick<DataLoader<AuditOnce, true>, 'load'>;

/** Records `entries` in one statement of their own, each key once (see `AuditBatches`). */
export async function recordOnce(pool: Pool, entries: readonly AuditOnce[]): Promise<void> {
  await pool.query({
    name: 'audit-once',
    text: insertAuditOnce('$1', '$2'),
    values: [auditOnceRows(entries), new Date().toISOString()],
  });
}

/**
 * The rows of `entries` to record once, as the JSON parameter of `insertAuditOnce`: a key twice among them (a
 * request repeated at once) is recorded as its first entry has it.
 */
export function auditOnceRows(entries: readonly AuditOnce[]): string {
  const first = new Map<string, AuditOnce>();
  for (const entry of entries) if (!first.has(entry.key)) first.set(entry.key, entry);
  return JSON.stringify(
    [...first.values()].map(({ key, ...entry }) => ({ id: newId(), ...rowOf(entry), idempotencyKey: key })),
  );
}

/**
 * SQL that records the rows of `auditOnceRows` (the jsonb parameter `rows`) at `at` (a timestamptz parameter), each
 * key once: a statement of its own, or a data-modifying CTE of another statement. Keys are inserted in order, so
 * that two statements recording the same keys never wait on each other in a circle.
 */
export function insertAuditOnce(rows: string, at: string): string {
  return `
    INSERT INTO "AuditLog" ("id", "actor", "action", "entityType", "entityId", "before", "after", "at", "idempotencyKey")
    SELECT a."id", a."actor", a."action", a."entityType", a."entityId", a."before", a."after",
           ${at}::timestamptz AT TIME ZONE 'UTC', a."idempotencyKey"
    FROM jsonb_to_recordset(${rows}::jsonb) AS a("id" uuid, "actor" text, "action" text, "entityType" text,
                                                 "entityId" text, "before" jsonb, "after" jsonb, "idempotencyKey" text)
    ORDER BY a."idempotencyKey"
    ON CONFLICT ("idempotencyKey") DO NOTHING`;
}

/** Decimals and Dates become their JSON strings, so the audit row reads like the API response. */
function toJson(value: unknown): Prisma.InputJsonValue | undefined {
  return value === undefined || value === null
    ? undefined
    : (JSON.parse(JSON.stringify(value)) as Prisma.InputJsonValue);
}
