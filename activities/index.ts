import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../src/db';
import type { Notifier } from '../src/notify/notifier';
import { createEngagementActivities } from './engagements';
import { createEscalationActivities } from './escalations';
import { createGovernanceActivities, createReviewPublishing } from './governance';
import { createLifecycleActivities } from './lifecycle';
import { createNotificationActivities } from './notifications';
import { createTransitionActivities } from './transition';

export interface ActivityDeps {
  prisma: PrismaClient;
  /** Activities that open escalations start their workflows through it. */
  client: Client;
  taskQueue: string;
  notifiers: Notifier[];
}

/** Every activity the worker registers. */
export function createActivities(deps: ActivityDeps) {
  const governance = createGovernanceActivities(deps.prisma);
  const notifications = createNotificationActivities(deps.prisma, deps.notifiers);
  return {
    ...createEngagementActivities(deps.prisma),
    ...createTransitionActivities(deps.prisma),
    ...createEscalationActivities(deps.prisma, deps.client, deps.taskQueue, notifications.notify),
    ...governance,
    ...notifications,
    ...createReviewPublishing(governance.conductReview, notifications.notify),
    ...createLifecycleActivities(deps.prisma, deps.client, deps.taskQueue),
  };
}

export type Activities = ReturnType<typeof createActivities>;
