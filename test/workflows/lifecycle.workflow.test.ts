import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Activities } from '../../activities';
import { lifecycleStateQuery } from '../../workflows/lifecycle.messages';
import { createTimeSkippingEnv, workflowBundle } from '../helpers/temporal';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('engagement lifecycle workflow (time-skipping)', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('waits 30 days for the term to start, then moves the engagement into transition', async () => {
    // given a contract whose term starts 30 days from now
    const stageMoves: Array<{ to: string; atMs: number }> = [];
    const activities: Pick<Activities, 'moveEngagementStage'> = {
      moveEngagementStage: async ({ to }) => {
        stageMoves.push({ to, atMs: await env.currentTimeMs() });
      },
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'lifecycle-test',
      workflowBundle: await workflowBundle(),
      activities,
    });
    const startedAtMs = await env.currentTimeMs();
    const termStart = new Date(startedAtMs + 30 * DAY_MS).toISOString();

    // when the lifecycle runs to the start of the term
    const wallStart = Date.now();
    const result = await worker.runUntil(
      env.client.workflow.execute('engagementLifecycle', {
        workflowId: 'engagement-e1-lifecycle',
        taskQueue: 'lifecycle-test',
        args: [{ engagementId: 'e1', vendorId: 'v1', transitionStartsAt: termStart }],
      }),
    );
    const wallMs = Date.now() - wallStart;

    // then the stage moved exactly once, no earlier than 30 days of workflow time later
    expect(result.stage).toBe('TRANSITION');
    expect(stageMoves).toHaveLength(1);
    expect(stageMoves[0].to).toBe('TRANSITION');
    expect(stageMoves[0].atMs - startedAtMs).toBeGreaterThanOrEqual(30 * DAY_MS);
    console.info(`30 days of workflow time took ${wallMs} ms of wall time`);
  });

  it('answers the state query with the stage it is waiting in', async () => {
    // given a lifecycle still waiting for its term to start
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'lifecycle-query-test',
      workflowBundle: await workflowBundle(),
      activities: { moveEngagementStage: async () => undefined },
    });
    const termStart = new Date((await env.currentTimeMs()) + 90 * DAY_MS).toISOString();

    const state = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('engagementLifecycle', {
        workflowId: 'engagement-e2-lifecycle',
        taskQueue: 'lifecycle-query-test',
        args: [{ engagementId: 'e2', vendorId: 'v1', transitionStartsAt: termStart }],
      });
      // when it is asked where it stands
      const waiting = await handle.query(lifecycleStateQuery);
      await handle.terminate('test over');
      return waiting;
    });

    // then it reports the contracted stage and the date it waits for
    expect(state).toEqual({ engagementId: 'e2', stage: 'CONTRACTED', transitionStartsAt: termStart });
  });
});
