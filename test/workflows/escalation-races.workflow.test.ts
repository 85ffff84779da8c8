import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { DEFAULT_ESCALATION_POLICIES } from '../../src/domain/defaults';
import type { SeverityPolicies } from '../../src/domain/escalation';
import {
  acknowledgeUpdate,
  escalationStateQuery,
  resolveUpdate,
  type EscalationState,
} from '../../workflows/escalation.messages';
import { connectDevServer, workflowBundle } from '../helpers/temporal';
import { eventually } from '../helpers/wait';

const levels = ['operations lead', 'account manager', 'delivery head'].map((role, i) => ({
  level: i + 1,
  role,
  contactName: role,
  contactEmail: `${role.replace(/ /g, '.')}@example.com`,
}));

/**
 * A person's step and a deadline in the same workflow task: the worker is stopped while the step waits at the server
 * and the deadline passes, so the next worker gets both at once. The step wins: the escalation does not climb. (A
 * review suspected the deadline's branch of the wait would win the race and tell the next level about an escalation
 * already resolved; this shows it does not.)
 */
describe('escalation: a step and a deadline in the same workflow task (dev server)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await connectDevServer();
  });
  afterAll(() => env?.teardown());

  const taskQueue = `escalation-races-${randomUUID()}`;
  const notices: string[] = [];
  const activities: Pick<Activities, 'recordEscalationStep' | 'notify'> = {
    recordEscalationStep: async () => undefined,
    notify: async (notice) => {
      notices.push(`${notice.recipient.role}: ${notice.subject}`);
      return { sent: true };
    },
  };
  const aWorker = async () =>
    Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities });

  it.each([
    ['a resolution', 'resolved', resolveUpdate, { actor: 'vendor:ops', resolution: 'failover fixed' }],
    ['an acknowledgement', 'acknowledged', acknowledgeUpdate, { actor: 'vendor:ops', note: 'on it' }],
  ] as const)(
    '%s that arrives with the climb is taken, and nobody is climbed to',
    async (_name, action, update, arg) => {
      notices.length = 0;
      // given an escalation whose acknowledgement is due in 2 s, waiting on that deadline with no worker running
      const policies = Object.fromEntries(
        DEFAULT_ESCALATION_POLICIES.map(({ severity, ...p }) => [severity, { ...p, acknowledgeSeconds: 2 }]),
      ) as SeverityPolicies;
      const first = await aWorker();
      const handle = await first.runUntil(async () => {
        const started = await env.client.workflow.start('escalation', {
          workflowId: `escalation-${randomUUID()}`,
          taskQueue,
          args: [
            {
              escalationId: randomUUID(),
              engagementId: randomUUID(),
              severity: 'P2',
              title: 'Invoice disputed',
              category: 'billing',
              raisedAt: new Date().toISOString(),
              timeZone: 'UTC',
              levels,
              policies,
              requiresRootCause: false,
            },
          ],
        });
        await eventually(
          () => started.fetchHistory(),
          (h) => (h.events ?? []).some((e) => e.timerStartedEventAttributes),
        );
        return started;
      });

      // when the person's step reaches the server, and the deadline passes before any worker takes either
      const answered = handle.executeUpdate(update as typeof resolveUpdate, { args: [arg as never] });
      await eventually(
        () => handle.fetchHistory(),
        (h) => (h.events ?? []).some((e) => e.timerFiredEventAttributes),
      );
      const second = await aWorker();
      const state: EscalationState = await second.runUntil(async () => {
        await answered;
        return eventually(
          () => handle.query(escalationStateQuery),
          (s) => s.steps.length >= 2,
        );
      });

      // then the step is taken and the escalation stays at the first level, no one else told
      expect(state.steps.map((s) => [s.action, s.level])).toEqual([
        ['raised', 1],
        [action, 1],
      ]);
      expect(state.level).toBe(1);
      expect(notices).toEqual([expect.stringMatching(/^operations lead: /)]);
      // and both did come in one workflow task: the deadline fired, and the step was accepted when that task completed
      const events = (await handle.fetchHistory()).events!;
      const fired = events.findIndex((e) => e.timerFiredEventAttributes);
      const accepted = events.findIndex((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
      expect(fired).toBeGreaterThan(0);
      expect(events.slice(fired, accepted).filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
      if (action === 'acknowledged') await handle.terminate('test over');
    },
  );
});
