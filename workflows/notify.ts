import { proxyLocalActivities } from '@temporalio/workflow';
import type { createNotificationActivities } from '../activities/notifications';
import { localFirst, localFirstOptions } from './local-first';

type NotificationActivities = ReturnType<typeof createNotificationActivities>;

/**
 * Marks where a run began sending notices by a local activity. Runs started earlier (years-long ones among them)
 * have `notify` activity tasks in their histories: on replay they keep scheduling one, up to this marker.
 */
export const NOTIFY_AS_LOCAL_ACTIVITY_PATCH = 'notify-as-local-activity';

// One lookup, the notifiers and one insert: run within the workflow task that asks for it, with no round trip of its
// own through the server. The attempt timeout leaves room for the webhook's own 10 s. A local activity retrying holds
// the workflow task open and adds heartbeat events to the history, so it gives up after a minute.
const local = proxyLocalActivities<NotificationActivities>(localFirstOptions('15 seconds'));

/**
 * The workflow's `notify`: a local activity in runs that reach this code with the patch, `regular` (the workflow's
 * own `notify` activity) where a history recorded before the patch is replayed, and also when the local activity
 * gave up: a notifier down for longer is retried by the server, with no events added while it waits.
 */
export function notifyLocally(regular: NotificationActivities['notify']): NotificationActivities['notify'] {
  return localFirst(NOTIFY_AS_LOCAL_ACTIVITY_PATCH, local.notify, regular);
}
