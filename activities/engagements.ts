import { Context } from '@temporalio/activity';
import type { PrismaClient } from '../src/db';
import { LIFECYCLE_STAGES, type LifecycleStage } from '../src/domain/lifecycle';

/** Idempotency key of the running activity: the same for every retry of one scheduled call, unique otherwise. */
export function activityIdempotencyKey(): string {
  const { workflowExecution, activityId } = Context.current().info;
  if (!workflowExecution) throw new Error('activityIdempotencyKey needs an activity started by a workflow');
  return `${workflowExecution.workflowId}/${workflowExecution.runId}/${activityId}`;
}

export function createEngagementActivities(prisma: PrismaClient) {
  return {
    /**
     * Moves an engagement to a stage and records the change once, however often it is retried; no-op if already
     * there, or if the move would go back (a late transition end after a termination for cause, a lifecycle started
     * again in RENEWAL passing STEADY_STATE). The next term's STEADY_STATE is set when the term is opened
     * (`openNewTerm`), with the term.
     */
    async moveEngagementStage(input: { engagementId: string; to: LifecycleStage; at?: string }): Promise<void> {
      const idempotencyKey = activityIdempotencyKey();
      await prisma.$transaction(async (tx) => {
        // The row is locked first: a move that read the stage before another committed (a transition's late end and
        // the lifecycle's move to EXIT) would otherwise write over it.
        const [engagement] = await tx.$queryRaw<Array<{ stage: LifecycleStage }>>`
          SELECT "stage"::text AS "stage" FROM "Engagement" WHERE "id" = ${input.engagementId}::uuid FOR NO KEY UPDATE`;
        if (!engagement) throw new Error(`no engagement ${input.engagementId}`);
        if (await tx.stageChange.findUnique({ where: { idempotencyKey } })) return;
        if (engagement.stage === input.to) return;
        // An exit only closes, and a closed engagement stays closed: a transition started on its own that ends
        // after a termination for cause (or any late move) does not bring the engagement back.
        if (engagement.stage === 'CLOSED' || (engagement.stage === 'EXIT' && input.to !== 'CLOSED')) return;
        const order = (stage: LifecycleStage) => LIFECYCLE_STAGES.indexOf(stage);
        if (order(engagement.stage) > order(input.to)) return;
        await tx.engagement.update({ where: { id: input.engagementId }, data: { stage: input.to } });
        await tx.stageChange.create({
          data: {
            engagementId: input.engagementId,
            fromStage: engagement.stage,
            toStage: input.to,
            idempotencyKey,
            // Workflow time when the workflow says so (it is the real clock, except on a time-skipping test server).
            ...(input.at && { occurredAt: new Date(input.at) }),
          },
        });
      });
    },
  };
}
