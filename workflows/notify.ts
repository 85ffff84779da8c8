import { isCancellation, log, patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { createNotificationActivities } from '../activities/notifications';
import type { Notice } from '../src/notify/notifier';
import { localFirst, localFirstOptions } from './local-first';

type NotificationActivities = ReturnType<typeof createNotificationActivities>;

/**
 * Marks where a run began sending notices by a local activity. Runs started earlier (years-long ones among them)
 * have `notify` activity tasks in their histories: on replay they keep scheduling one, up to this marker.
 */
export const NOTIFY_AS_LOCAL_ACTIVITY_PATCH = 'notify-as-local-activity';

/**
 * Marks where a run began sending its notices without waiting for them: a notifier down (a webhook answering 503, or
 * 401 after its secret was rotated) delays the notice, not the escalation's next climb, the next review or the
 * renewal's deadline. Runs started earlier waited for each notice, as they do on replay up to this marker.
 */
export const NOTICES_DO_NOT_WAIT_PATCH = 'notices-do-not-hold-the-workflow';

// One lookup, the notifiers and one insert: run within the workflow task that asks for it, with no round trip of its
// own through the server. The attempt timeout leaves room for the webhook's own 10 s. A local activity retrying holds
// the workflow task open and adds heartbeat events to the history, so it gives up after a minute.
const local = proxyLocalActivities<NotificationActivities>(localFirstOptions('15 seconds'));

/**
 * The regular activity of a notice sent without waiting: retried by the server for three days, then given up (and
 * logged), so that a run's continue-as-new or end, which waits for the notices it sent, is not held for ever.
 */
const bounded = proxyActivities<NotificationActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '3 days',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

/**
 * The workflow's `notify`: a local activity in runs that reach this code with the patch, `regular` (the workflow's
 * own `notify` activity) where a history recorded before the patch is replayed, and also when the local activity
 * gave up: a notifier down for longer is retried by the server, with no events added while it waits.
 */
export function notifyLocally(regular: NotificationActivities['notify']): NotificationActivities['notify'] {
  return localFirst(NOTIFY_AS_LOCAL_ACTIVITY_PATCH, local.notify, regular);
}

/**
 * A workflow's notices: `send` hands one over and returns at once (since `NOTICES_DO_NOT_WAIT_PATCH`; before it, once
 * it was sent, through `regular`). Before a continue-as-new, `unsent` lists those still being sent, for the next run
 * to send again (`carried`: a notice is delivered once per event key, so one the run before did deliver is not sent
 * twice); before the end of the workflow, `settled` waits for them.
 */
export function notices(regular: NotificationActivities['notify'], carried: Notice[] = []) {
  const waited = notifyLocally(regular);
  const unwaited = notifyLocally(bounded.notify);
  const sending = new Map<Promise<void>, Notice>();
  const outbox = {
    async send(notice: Notice): Promise<void> {
      if (!patched(NOTICES_DO_NOT_WAIT_PATCH)) {
        await waited(notice);
        return;
      }
      const sent: Promise<void> = unwaited(notice).then(
        () => undefined,
        (error: unknown) => {
          if (isCancellation(error)) return;
          log.warn('a notice was given up after three days of failed deliveries', { eventKey: notice.eventKey, error });
        },
      );
      sending.set(sent, notice);
      void sent.finally(() => sending.delete(sent));
    },
    unsent(): Notice[] {
      return [...sending.values()];
    },
    async settled(): Promise<void> {
      while (sending.size > 0) await Promise.all([...sending.keys()]);
    },
  };
  for (const notice of carried) void outbox.send(notice);
  return outbox;
}
