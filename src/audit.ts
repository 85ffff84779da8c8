import { isUniqueViolation } from './db';
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

/**
 * Records a write that has no transaction of its own to join (a workflow started), once per `key`: a repeat of the
 * same write (a retried request finding the workflow it started) finds the entry and adds none.
 */
export async function auditOnce(
  prisma: { auditLog: Pick<Prisma.TransactionClient['auditLog'], 'create'> },
  entry: AuditEntry,
  key: string,
): Promise<void> {
  await prisma.auditLog.create({ data: { ...rowOf(entry), idempotencyKey: key } }).catch((error: unknown) => {
    if (!isUniqueViolation(error)) throw error;
  });
}

/** Decimals and Dates become their JSON strings, so the audit row reads like the API response. */
function toJson(value: unknown): Prisma.InputJsonValue | undefined {
  return value === undefined || value === null
    ? undefined
    : (JSON.parse(JSON.stringify(value)) as Prisma.InputJsonValue);
}
