import { newId } from '../src/ids';
import { queryOnPool, type PrismaClient } from '../src/db';
import { Prisma } from '../src/generated/prisma/client';
import type { Notice, Notifier } from '../src/notify/notifier';

/**
 * Sends a notice through every notifier, once per event key: a retry after a failure sends again (the receiver
 * de-duplicates on the event id), a retry after success finds the sent row and sends nothing.
 */
export function createNotificationActivities(prisma: PrismaClient, notifiers: Notifier[]) {
  const channels = notifiers.map((n) => n.channel);
  return {
    // Runs for every review and escalation step, inside the workflow task that asks for it: plain parameterised
    // statements on the pg pool (`queryOnPool`), without Prisma's client-side cost per query.
    async notify(notice: Notice): Promise<{ sent: boolean }> {
      const { rows: sent } = await queryOnPool(
        prisma,
        'find-notification',
        Prisma.sql`SELECT 1 AS found FROM "Notification" WHERE "eventKey" = ${notice.eventKey}`,
      );
      if (sent.length) return { sent: false };
      const sending = await addressed(prisma, notice);
      for (const notifier of notifiers) await notifier.send(sending);
      await queryOnPool(
        prisma,
        'record-notification',
        Prisma.sql`
          INSERT INTO "Notification" ("id", "eventKey", "engagementId", "recipient", "subject", "payload", "channels",
                                      "sentAt")
          VALUES (${newId()}::uuid, ${notice.eventKey}, ${notice.engagementId ?? null}::uuid,
                  ${notice.recipient.role}, ${notice.subject}, ${JSON.stringify(sending)}::jsonb, ${channels}::text[],
                  ${new Date()})
          ON CONFLICT ("eventKey") DO NOTHING`,
      );
      return { sent: true };
    },
  };
}

const COUNCIL_ROLES = new Set(['EXECUTIVE_SPONSOR', 'PROGRAM_MANAGER', 'FINANCE', 'LEGAL', 'MEMBER']);

/**
 * A notice for a council role (the executive sponsor, for a renewal) without an address goes to the engagement's
 * council member in that role, by name and email; a role nobody on the council holds stays as it was.
 */
async function addressed(prisma: PrismaClient, notice: Notice): Promise<Notice> {
  const role = notice.recipient.role
    .trim()
    .toUpperCase()
    .replace(/[\s-]+/g, '_');
  if (notice.recipient.email || !notice.engagementId || !COUNCIL_ROLES.has(role)) return notice;
  const { rows } = await queryOnPool<{ name: string; email: string }>(
    prisma,
    'council-member-in-role',
    Prisma.sql`SELECT "name", "email" FROM "CouncilMember"
               WHERE "engagementId" = ${notice.engagementId}::uuid AND "role"::text = ${role}
               ORDER BY "name" LIMIT 1`,
  );
  return rows.length ? { ...notice, recipient: { ...notice.recipient, ...rows[0] } } : notice;
}

/** The notification activity's `notify`, for activities that send a notice within their own work. */
export type Notify = ReturnType<typeof createNotificationActivities>['notify'];
