import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../src/db';
import type { Notice, Notifier } from '../src/notify/notifier';

/**
 * Sends a notice through every notifier, once per event key: a retry after a failure sends again (the receiver
 * de-duplicates on the event id), a retry after success finds the sent row and sends nothing.
 */
export function createNotificationActivities(prisma: PrismaClient, notifiers: Notifier[]) {
  const channels = notifiers.map((n) => n.channel);
  return {
    // Runs for every review and escalation step, inside the workflow task that asks for it: one plain parameterised
    // lookup and one insert (a concurrent twin's row wins, without an error) cost a third of the model queries' CPU.
    async notify(notice: Notice): Promise<{ sent: boolean }> {
      const [sent] = await prisma.$queryRaw<Array<{ found: number }>>`
        SELECT 1 AS found FROM "Notification" WHERE "eventKey" = ${notice.eventKey}`;
      if (sent) return { sent: false };
      for (const notifier of notifiers) await notifier.send(notice);
      await prisma.$executeRaw`
        INSERT INTO "Notification" ("id", "eventKey", "engagementId", "recipient", "subject", "payload", "channels", "sentAt")
        VALUES (${randomUUID()}::uuid, ${notice.eventKey}, ${notice.engagementId ?? null}::uuid, ${notice.recipient.role},
                ${notice.subject}, ${JSON.stringify(notice)}::jsonb, ${channels}::text[], ${new Date()})
        ON CONFLICT ("eventKey") DO NOTHING`;
      return { sent: true };
    },
  };
}

/** The notification activity's `notify`, for activities that send a notice within their own work. */
export type Notify = ReturnType<typeof createNotificationActivities>['notify'];
