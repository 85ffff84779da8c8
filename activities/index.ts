import type { PrismaClient } from '../src/db';
import { createEngagementActivities } from './engagements';

/** Every activity the worker registers, bound to one Prisma client. */
export function createActivities(prisma: PrismaClient) {
  return { ...createEngagementActivities(prisma) };
}

export type Activities = ReturnType<typeof createActivities>;
