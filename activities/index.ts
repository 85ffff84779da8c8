import type { PrismaClient } from '../src/db';
import { createEngagementActivities } from './engagements';
import { createEscalationActivities } from './escalations';
import { createTransitionActivities } from './transition';

/** Every activity the worker registers, bound to one Prisma client. */
export function createActivities(prisma: PrismaClient) {
  return {
    ...createEngagementActivities(prisma),
    ...createTransitionActivities(prisma),
    ...createEscalationActivities(prisma),
  };
}

export type Activities = ReturnType<typeof createActivities>;
