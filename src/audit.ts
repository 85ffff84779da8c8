import type DataLoader from 'dataloader';
import type { Pool } from 'pg';
import { statementBatches } from './statement-batches';
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

/** Where writes to record once go, with the others of their moment (`auditBatches`). */
export type AuditBatches = DataLoader<AuditOnce, true>;

/**
 * Records writes that have no transaction of their own to join (a workflow started), each once per its `key`: a
 * repeat of the same write (a retried request finding the workflow it started) finds the entry and adds none. The
 * entries of one moment go in one statement on the pg pool under Prisma (group commit): they follow a start, the
 * API's busiest write, whose own statement is grouped the same way.
 */
export function auditBatches(pool: Pool): AuditBatches {
  return statementBatches(async (entries) => {
    // A key twice in one batch (a request repeated at once): its first entry is the one recorded.
    const first = new Map<string, AuditOnce>();
    for (const entry of entries) if (!first.has(entry.key)) first.set(entry.key, entry);
    const rows = [...first.values()].map(({ key, ...entry }) => ({
      id: newId(),
      ...rowOf(entry),
      idempotencyKey: key,
    }));
    await pool.query({
      name: 'audit-once',
      text: `
        INSERT INTO "AuditLog" ("id", "actor", "action", "entityType", "entityId", "before", "after", "at",
                                "idempotencyKey")
        SELECT a."id", a."actor", a."action", a."entityType", a."entityId", a."before", a."after",
               $2::timestamptz AT TIME ZONE 'UTC', a."idempotencyKey"
        FROM jsonb_to_recordset($1::jsonb) AS a("id" uuid, "actor" text, "action" text, "entityType" text,
                                                "entityId" text, "before" jsonb, "after" jsonb, "idempotencyKey" text)
        ON CONFLICT ("idempotencyKey") DO NOTHING`,
      values: [JSON.stringify(rows), new Date().toISOString()],
    });
    return entries.map(() => true as const);
  });
}

/** Decimals and Dates become their JSON strings, so the audit row reads like the API response. */
function toJson(value: unknown): Prisma.InputJsonValue | undefined {
  return value === undefined || value === null
    ? undefined
    : (JSON.parse(JSON.stringify(value)) as Prisma.InputJsonValue);
}
