import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { decideRenewalUpdate, lifecycleStateQuery, type LifecycleState } from '../../workflows/lifecycle.messages';
import { connectDevServer, workflowBundle } from '../helpers/temporal';
import { eventually } from '../helpers/wait';

/**
 * An executive's decision and the notice deadline in the same workflow task: the worker is stopped while the
 * decision waits at the server and the deadline passes, so the next worker gets both at once. The deadline has
 * passed: the contract decides (the decision used to be taken, overriding the contract's default after the fact).
 */
describe('renewal: a decision that arrives with the notice deadline (dev server)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await connectDevServer();
  });
  afterAll(() => env?.teardown());

  const taskQueue = `renewal-race-${randomUUID()}`;
  const decisions: string[] = [];
  const activities: Partial<Activities> = {
    moveEngagementStage: async () => undefined,
    evaluateRenewal: async () => ({ recommendation: 'RENEW', reasons: ['targets met'] }) as never,
    notify: async () => ({ sent: true }),
    raiseEscalation: async () => ({ escalationId: randomUUID() }) as never,
    recordRenewalDecision: async ({ decision }: { decision: string }) => {
      decisions.push(decision);
    },
    createExitPlan: async () => undefined,
    settleEscalation: async () => undefined,
  } as Partial<Activities>;
  const aWorker = async () =>
    Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities });

  it('refuses the decision and applies the contract default', async () => {
    // given a lifecycle waiting at renewal for a notice deadline 4 s away, with no worker running
    const deadline = new Date(Date.now() + 4_000).toISOString();
    const engagementId = randomUUID();
    const termEnd = new Date(Date.now() + 90 * 86_400_000).toISOString();
    const resume: LifecycleState = {
      engagementId,
      stage: 'STEADY_STATE',
      term: 1,
      termStart: new Date(Date.now() - 300 * 86_400_000).toISOString(),
      termEnd,
      milestones: {
        evaluationAt: new Date(Date.now() - 60_000).toISOString(),
        councilEscalationAt: new Date(Date.now() - 60_000).toISOString(),
        noticeDeadline: deadline,
        termEnd,
      },
    };
    const first = await aWorker();
    const handle = await first.runUntil(async () => {
      const started = await env.client.workflow.start('engagementLifecycle', {
        workflowId: `lifecycle-${engagementId}`,
        taskQueue,
        args: [
          {
            engagementId,
            vendorId: randomUUID(),
            termStart: resume.termStart,
            termEnd,
            renewalNoticeDays: 90,
            autoRenew: false,
            defaultDecision: 'EXIT',
            transitionPlan: null,
            resume,
          },
        ],
      });
      await eventually(
        () => started.query(lifecycleStateQuery),
        (s) => s.stage === 'RENEWAL' && s.renewal?.councilEscalated === true,
      );
      return started;
    });

    // when the executive's decision reaches the server, and the deadline passes before any worker takes either
    const answered = handle
      .executeUpdate(decideRenewalUpdate, { args: [{ actor: 'executive:cfo', decision: 'RENEW' }] })
      .then(
        () => 'accepted',
        (error: Error) => String((error.cause as Error | undefined)?.message ?? error.message),
      );
    await eventually(
      () => handle.fetchHistory(),
      (h) => (h.events ?? []).some((e) => e.timerFiredEventAttributes),
    );
    const second = await aWorker();
    const state = await second.runUntil(async () => {
      expect(await answered).toBe(`the notice deadline ${deadline} has passed: the contract decides`);
      return eventually(
        () => handle.query(lifecycleStateQuery),
        (s) => s.stage === 'EXIT',
      );
    });

    // then the contract's default stands
    expect(state.renewal).toMatchObject({ decision: 'EXIT', decidedBy: 'contract', via: 'contract default' });
    expect(decisions).toEqual(['EXIT']);
    // and both did come in one workflow task
    const events = (await handle.fetchHistory()).events!;
    const fired = events.findIndex((e) => e.timerFiredEventAttributes);
    expect(fired).toBeGreaterThan(0);
    expect(events.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(false);
    await handle.terminate('test over');
  });
});
