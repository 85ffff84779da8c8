import { randomUUID } from 'node:crypto';
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
      for (const notifier of notifiers) await notifier.send(notice);
      await queryOnPool(
        prisma,
        'record-notification',
        Prisma.sql`
          INSERT INTO "Notification" ("id", "eventKey", "engagementId", "recipient", "subject", "payload", "channels",
                                      "sentAt")
          VALUES (${randomUUID()}::uuid, ${notice.eventKey}, ${notice.engagementId ?? null}::uuid,
                  ${notice.recipient.role}, ${notice.subject}, ${JSON.stringify(notice)}::jsonb, ${channels}::text[],
                  ${new Date()})
          ON CONFLICT ("eventKey") DO NOTHING`,
      );
      return { sent: true };
    },
  };
}

/** The notification activity's `notify`, for activities that send a notice within their own work. */
export type Notify = ReturnType<typeof createNotificationActivities>['notify'];
