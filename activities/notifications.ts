import type { PrismaClient } from '../src/db';
import type { Notice, Notifier } from '../src/notify/notifier';
import type { Prisma } from '../src/generated/prisma/client';
import { ignoreDuplicate } from './transition';

/**
 * Sends a notice through every notifier, once per event key: a retry after a failure sends again (the receiver
 * de-duplicates on the event id), a retry after success finds the sent row and sends nothing.
 */
export function createNotificationActivities(prisma: PrismaClient, notifiers: Notifier[]) {
  return {
    async notify(notice: Notice): Promise<{ sent: boolean }> {
      if (await prisma.notification.findUnique({ where: { eventKey: notice.eventKey } })) return { sent: false };
      for (const notifier of notifiers) await notifier.send(notice);
      await prisma.notification
        .create({
          data: {
            eventKey: notice.eventKey,
            engagementId: notice.engagementId,
            recipient: notice.recipient.role,
            subject: notice.subject,
            payload: notice as unknown as Prisma.InputJsonValue,
            channels: notifiers.map((n) => n.channel),
          },
        })
        .catch(ignoreDuplicate);
      return { sent: true };
    },
  };
}
