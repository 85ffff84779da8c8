import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Activities } from '../../activities';
import { addBusinessSeconds } from '../../src/domain/calendar';
import { DEFAULT_ESCALATION_POLICIES } from '../../src/domain/defaults';
import type { SeverityPolicies } from '../../src/domain/escalation';
import {
  acknowledgeUpdate,
  changeSeverityUpdate,
  escalationStateQuery,
  reassignUpdate,
  type EscalationInput,
} from '../../workflows/escalation.messages';
import { LOCAL_ATTEMPTS } from '../../workflows/local-first';
import { recordHistoryIfAsked } from '../helpers/record';
import { createTimeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { eventually } from '../helpers/wait';

const policies = Object.fromEntries(
  DEFAULT_ESCALATION_POLICIES.map(({ severity, ...p }) => [severity, p]),
) as SeverityPolicies;
const levels = ['operations lead', 'account manager', 'delivery head', 'governance council'].map((role, i) => ({
  level: i + 1,
  role,
  contactName: role,
  contactEmail: `${role.replace(/ /g, '.')}@example.com`,
}));

/**
 * Each step as [action, level, minutes after the raise]. In minutes: a timer starts when its workflow task completes,
 * so on a busy machine a step can come a second late.
 */
function stepsInMinutes(steps: Array<{ action: string; level: number; at: string }>, raisedAt: number) {
  return steps.map((s) => [s.action, s.level, Math.round((Date.parse(s.at) - raisedAt) / 60_000)]);
}

describe('escalation workflow (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  beforeEach(async () => {
    env = await createTimeSkippingEnv();
  });
  afterEach(() => env?.teardown());

  /** A worker of the escalation workflow with these activities. */
  const workerWith = async (activities: object) =>
    Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'esc',
      workflowBundle: await workflowBundle(),
      activities,
    });

  async function run(
    input: Partial<EscalationInput>,
    forMs: number,
    recordEscalationStep: Activities['recordEscalationStep'] = async () => undefined,
    /** With RECORD_HISTORIES=1, the name the run's history is saved under as a replay fixture. */
    fixture?: string,
    /** What happens to a notice once it is recorded: by default it is sent. */
    deliver: () => Promise<void> = async () => undefined,
  ) {
    const notices: string[] = [];
    const eventKeys: string[] = [];
    const activities: Pick<Activities, 'recordEscalationStep' | 'notify'> = {
      recordEscalationStep,
      notify: async (notice) => {
        notices.push(`${notice.recipient.role}: ${notice.subject}`);
        eventKeys.push(notice.eventKey);
        await deliver();
        return { sent: true };
      },
    };
    const worker = await workerWith(activities);
    return worker.runUntil(async () => {
      const raisedAt = new Date(await env.currentTimeMs()).toISOString();
      const handle = await env.client.workflow.start('escalation', {
        workflowId: 'escalation-e1',
        taskQueue: 'esc',
        args: [
          {
            escalationId: 'e1',
            engagementId: 'g1',
            severity: 'P1',
            title: 'Outage',
            category: 'outage',
            raisedAt,
            timeZone: 'UTC',
            levels,
            policies,
            requiresRootCause: false,
            ...input,
          },
        ],
      });
      await env.sleep(forMs);
      const state = await handle.query(escalationStateQuery);
      if (fixture) await recordHistoryIfAsked(handle, fixture);
      await handle.terminate('test over');
      return { state, notices, eventKeys, raisedAt: Date.parse(raisedAt) };
    });
  }

  it('climbs one level every 15 minutes while a P1 stays unacknowledged, then reminds the top daily', async () => {
    const { state, notices, raisedAt } = await run({}, 45 * 60_000 + 24 * 3_600_000 + 60_000);
    expect(stepsInMinutes(state.steps, raisedAt)).toEqual([
      ['raised', 1, 0],
      ['climbed', 2, 15],
      ['climbed', 3, 30],
      ['climbed', 4, 45],
      ['reminded', 4, 45 + 24 * 60],
    ]);
    expect(notices.map((n) => n.split(':')[0])).toEqual([
      'operations lead',
      'account manager',
      'delivery head',
      'governance council',
      'governance council',
    ]);
    expect(Math.round((Date.parse(state.nextClimbAt!) - raisedAt) / 60_000)).toBe(45 + 2 * 24 * 60);
  });

  it('numbers the steps of a run taking up an escalation after every number stored, also one whose step was lost', async () => {
    // given an earlier run that stored steps 1, 2 and 4 (step 3's write was lost with it)
    const stored: number[] = [];
    const t0 = await env.currentTimeMs();
    const at = (minutes: number) => new Date(t0 - (60 - minutes) * 60_000).toISOString();
    const { state, eventKeys } = await run(
      {
        resume: {
          escalationId: 'e1',
          status: 'OPEN',
          severity: 'P1',
          level: 3,
          levelSince: at(30),
          nextClimbAt: null,
          requiresRootCause: false,
          steps: [
            { level: 1, action: 'raised', at: at(0), actor: 'system' },
            { level: 2, action: 'climbed', at: at(15), actor: 'system' },
            { level: 3, action: 'climbed', at: at(30), actor: 'system' },
          ],
          skippedSteps: 1,
        },
      },
      60_000,
      async ({ stepNumber }) => void stored.push(stepNumber),
    );
    // then its first step (the climb due 45 minutes after the raise, overdue now) is number 5, not a repeat of 4
    expect(state.steps.map((s) => s.action).slice(-1)).toEqual(['climbed']);
    expect(stored).toEqual([5]);
    // and its notice is that step's (under step 4's key it would be dropped as a repeat of the earlier run's)
    expect(eventKeys).toEqual(['escalation/e1/step-5']);
  });

  it('climbs on time while its notifier is down: a notice that cannot be delivered holds nothing', async () => {
    // given a notifier that fails every delivery (a webhook answering 503); the local attempt gives up at once here,
    // as it does after its minute, and the server retries the regular activity meanwhile
    const down = async () => {
      if (Context.current().info.isLocal)
        throw ApplicationFailure.nonRetryable('webhook at hooks.example answered 503');
      throw ApplicationFailure.retryable('webhook at hooks.example answered 503');
    };
    // when a P1 is not acknowledged for 50 minutes
    const { state, notices, raisedAt } = await run({}, 50 * 60_000, undefined, undefined, down);
    // then it climbed at 15, 30 and 45 minutes all the same (it used to wait for the raise's notice, for ever), and
    // each level's notice was tried
    expect(stepsInMinutes(state.steps, raisedAt)).toEqual([
      ['raised', 1, 0],
      ['climbed', 2, 15],
      ['climbed', 3, 30],
      ['climbed', 4, 45],
    ]);
    expect(new Set(notices.map((n) => n.split(':')[0]))).toEqual(
      new Set(['operations lead', 'account manager', 'delivery head', 'governance council']),
    );
  });

  it('reminds the top of a business-hours matrix every business day, not every three', async () => {
    // given a P3 counted in business hours (acknowledge within 4 business hours) on a two-level matrix
    const p3 = { ...policies.P3, acknowledgeSeconds: 4 * 3_600, businessHours: true };
    const { state } = await run(
      { severity: 'P3', levels: levels.slice(0, 2), policies: { ...policies, P3: p3 } },
      7 * 24 * 3_600_000,
    );
    // when nobody acknowledges, it climbs to the top after 4 business hours, then is reminded a business day later
    const [climbed, reminded] = state.steps.filter((s) => s.action !== 'raised');
    expect([climbed.action, reminded.action]).toEqual(['climbed', 'reminded']);
    const businessDayAfter = (at: string) => addBusinessSeconds(Date.parse(at), 8 * 3_600, 'UTC');
    expect(Math.abs(Date.parse(reminded.at) - businessDayAfter(climbed.at))).toBeLessThan(60_000);
    expect(Math.abs(Date.parse(state.steps[3].at) - businessDayAfter(reminded.at))).toBeLessThan(60_000);
  });

  it("keeps the policy's deadlines at the top of a one-level matrix when a person acknowledges or re-grades", async () => {
    // given an engagement whose matrix has one level, and a P3 raised there
    const worker = await workerWith({
      recordEscalationStep: async () => undefined,
      notify: async () => ({ sent: true }),
    });
    await worker.runUntil(async () => {
      const raisedAt = new Date(await env.currentTimeMs()).toISOString();
      const handle = await env.client.workflow.start('escalation', {
        workflowId: 'escalation-one-level',
        taskQueue: 'esc',
        args: [
          {
            escalationId: 'e2',
            engagementId: 'g1',
            severity: 'P3',
            title: 'Backlog',
            category: 'quality',
            raisedAt,
            timeZone: 'UTC',
            levels: levels.slice(0, 1),
            policies,
            requiresRootCause: false,
          } satisfies EscalationInput,
        ],
      });
      const hoursAfterRaise = (at: string | null) => (Date.parse(at!) - Date.parse(raisedAt)) / 3_600_000;

      // when it is re-graded P1: the P1 acknowledge deadline applies (15 minutes), not a day
      await handle.executeUpdate(changeSeverityUpdate, { args: [{ actor: 'pm', severity: 'P1' }] });
      const regraded = await handle.query(escalationStateQuery);
      expect(hoursAfterRaise(regraded.nextClimbAt)).toBeCloseTo(0.25, 2);

      // when it is acknowledged: the P1 resolve deadline applies (4 hours), not a day
      await handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: 'ops' }] });
      const acknowledged = await handle.query(escalationStateQuery);
      expect(hoursAfterRaise(acknowledged.nextClimbAt)).toBeCloseTo(4, 2);

      // and once that deadline is missed, the top is reminded, then daily
      await env.sleep(4 * 3_600_000 + 60_000);
      const missed = await handle.query(escalationStateQuery);
      expect(missed.steps.map((s) => s.action)).toEqual(['raised', 'severity-changed', 'acknowledged', 'reminded']);
      expect(hoursAfterRaise(missed.nextClimbAt) - hoursAfterRaise(missed.levelSince)).toBeCloseTo(24, 2);

      // a reassignment changes no deadline (it used to bring the missed one back: a reminder at once)
      await handle.executeUpdate(reassignUpdate, { args: [{ actor: 'pm', assignee: 'dana' }] });
      expect((await handle.query(escalationStateQuery)).nextClimbAt).toBe(missed.nextClimbAt);

      // a re-grade two hours later starts the new severity's resolve deadline (P2: 8 hours) from then
      await env.sleep(2 * 3_600_000);
      await handle.executeUpdate(changeSeverityUpdate, { args: [{ actor: 'pm', severity: 'P2' }] });
      const p2 = await handle.query(escalationStateQuery);
      const regradedAt = p2.steps.at(-1)!;
      expect(regradedAt.action).toBe('severity-changed');
      expect(hoursAfterRaise(p2.nextClimbAt) - hoursAfterRaise(regradedAt.at)).toBeCloseTo(8, 2);
      expect(p2.steps.map((s) => s.action)).not.toContain('climbed');
      await handle.terminate('test over');
    });
  });

  it('starts the new deadline from a re-grade below the top, and tells the level holding it', async () => {
    // given a P3 raised on a four-level matrix, not acknowledged for an hour
    const notices: string[] = [];
    const worker = await workerWith({
      recordEscalationStep: async () => undefined,
      notify: async (notice: { recipient: { role: string }; subject: string }) => {
        notices.push(`${notice.recipient.role}: ${notice.subject}`);
        return { sent: true };
      },
    });
    await worker.runUntil(async () => {
      const raisedAt = Date.parse(new Date(await env.currentTimeMs()).toISOString());
      const handle = await env.client.workflow.start('escalation', {
        workflowId: 'escalation-regraded',
        taskQueue: 'esc',
        args: [
          {
            escalationId: 'e3',
            engagementId: 'g1',
            severity: 'P3',
            title: 'IVR degraded',
            category: 'outage',
            raisedAt: new Date(raisedAt).toISOString(),
            timeZone: 'UTC',
            levels,
            policies: { ...policies, P3: { ...policies.P3, businessHours: false } },
            requiresRootCause: false,
          } satisfies EscalationInput,
        ],
      });
      await env.sleep(60 * 60_000);

      // when it is re-graded P1 (the outage worsened)
      await handle.executeUpdate(changeSeverityUpdate, { args: [{ actor: 'pm', severity: 'P1' }] });
      const regraded = await handle.query(escalationStateQuery);
      const regradedAt = Date.parse(regraded.steps.at(-1)!.at);

      // then the operations lead has the P1's 15 minutes from the re-grade (it used to climb at once: the P1 clock
      // ran from the raise, an hour before), and hears that it is now a P1
      expect(regraded.level).toBe(1);
      expect((Date.parse(regraded.nextClimbAt!) - regradedAt) / 60_000).toBeCloseTo(15, 1);
      expect(notices).toContain('operations lead: [P1] IVR degraded: re-graded from P3 to P1');
      await env.sleep(16 * 60_000);
      const climbed = await handle.query(escalationStateQuery);
      expect(stepsInMinutes(climbed.steps, raisedAt).map(([action, level]) => [action, level])).toEqual([
        ['raised', 1],
        ['severity-changed', 1],
        ['climbed', 2],
      ]);
      expect(Math.round((Date.parse(climbed.steps.at(-1)!.at) - regradedAt) / 60_000)).toBe(15);
      await recordHistoryIfAsked(handle, 'escalation-regraded-restarts-the-clock');
      await handle.terminate('test over');
    });
  });

  it('leaves the first notice to a raise that announced it, and notifies each climb itself', async () => {
    const { state, notices } = await run(
      { announced: true },
      15 * 60_000 + 60_000,
      undefined,
      'escalation-announced-by-the-raise-climbed',
    );
    expect(state.steps.map((s) => [s.action, s.level])).toEqual([
      ['raised', 1],
      ['climbed', 2],
    ]);
    expect(notices).toEqual(['account manager: [P1] Outage: not acknowledged in time: escalated to you']);
  });

  it('counts a P3 deadline in business hours of the engagement time zone', async () => {
    // raised on a Friday at 15:00 in London: 4 business hours end on Monday at 11:00
    const friday = Date.parse('2027-01-08T15:00:00Z');
    await env.sleep(friday - (await env.currentTimeMs()));
    // The raise names its own time: the test server's clock runs on while the worker starts, and the deadline counts
    // from the raise, not from when the workflow began.
    const { state } = await run(
      { severity: 'P3', timeZone: 'Europe/London', raisedAt: new Date(friday).toISOString() },
      60_000,
    );
    expect(state.level).toBe(1);
    expect(state.nextClimbAt!.slice(0, 19)).toBe('2027-01-11T11:00:00');
  });

  it('records a step by a regular activity, retried by the server, when the local activity gives up', async () => {
    const attempts: Array<{ stepNumber: number; action: string; local: boolean }> = [];
    const { state } = await run({}, 16 * 60_000, async ({ stepNumber, step }) => {
      const local = Context.current().info.isLocal;
      attempts.push({ stepNumber, action: step.action, local });
      // As a database that keeps failing would, once the local activity's minute is over.
      if (local) throw ApplicationFailure.nonRetryable('database refused the step');
    });
    expect(attempts).toEqual([
      { stepNumber: 2, action: 'climbed', local: true },
      { stepNumber: 2, action: 'climbed', local: false },
    ]);
    expect(state.steps.map((s) => s.action)).toEqual(['raised', 'climbed']);
  });

  it('refuses a reassignment to the one already assigned: a repeated request adds no step', async () => {
    const steps: number[] = [];
    const worker = await workerWith({
      recordEscalationStep: async ({ stepNumber }: { stepNumber: number }) => void steps.push(stepNumber),
      notify: async () => ({ sent: true }),
    });
    await worker.runUntil(async () => {
      // given a P3 reassigned to Dana
      const handle = await env.client.workflow.start('escalation', {
        workflowId: 'escalation-reassigned-twice',
        taskQueue: 'esc',
        args: [anEscalation('e4', 'P3', new Date(await env.currentTimeMs()).toISOString())],
      });
      const reassign = () => handle.executeUpdate(reassignUpdate, { args: [{ actor: 'pm', assignee: 'dana' }] });
      await reassign();

      // when the same request comes again (its answer was lost)
      const repeated = await reassign().catch((error: unknown) => error);

      // then it is refused, and no second step is stored
      expect(repeated).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(String((repeated as WorkflowUpdateFailedError).cause?.message)).toBe(
        'the escalation is already assigned to dana',
      );
      const state = await handle.query(escalationStateQuery);
      expect(state.steps.map((s) => s.action)).toEqual(['raised', 'reassigned']);
      expect(steps).toEqual([2]);
      // ... while another assignee is taken
      await handle.executeUpdate(reassignUpdate, { args: [{ actor: 'pm', assignee: 'ravi' }] });
      expect(steps).toEqual([2, 3]);
      await handle.terminate('test over');
    });
  });

  it('hands a notice its notifier refuses at once to the regular activity after the local attempts, not retrying locally for ever', async () => {
    // given a notifier that answers every local attempt with a failure at once (a webhook's 503)
    const localAttempts: string[] = [];
    const delivered: string[] = [];
    const worker = await workerWith({
      recordEscalationStep: async () => undefined,
      notify: async (notice: { eventKey: string }) => {
        if (Context.current().info.isLocal) {
          localAttempts.push(notice.eventKey);
          throw new Error('webhook answered 503');
        }
        delivered.push(notice.eventKey);
        return { sent: true };
      },
    });
    await worker.runUntil(async () => {
      // when an escalation is raised whose raise notice was not sent yet (these waits are the SDK's, in real time)
      const handle = await env.client.workflow.start('escalation', {
        workflowId: 'escalation-notifier-refuses',
        taskQueue: 'esc',
        args: [{ ...anEscalation('e6', 'P4', new Date(await env.currentTimeMs()).toISOString()), announced: false }],
      });

      // then the regular activity delivers it once the local attempts are spent
      await eventually(
        async () => delivered,
        (keys) => keys.includes('escalation/e6/step-1'),
        120_000,
      );
      // (eight, as the options say; seven if the SDK ever honours the minute's schedule-to-close between attempts)
      const attempts = localAttempts.filter((key) => key === 'escalation/e6/step-1').length;
      expect(attempts).toBeGreaterThanOrEqual(LOCAL_ATTEMPTS - 1);
      expect(attempts).toBeLessThanOrEqual(LOCAL_ATTEMPTS);
      await handle.terminate('test over');
    });
  }, 150_000);

  it("gives a climb's notice its own step number when a re-grade comes in while the climb is stored", async () => {
    // given a P1 whose climb is stored slowly (its local activity gave up; the regular one waits for the database)
    const notices: Array<{ eventKey: string; subject: string }> = [];
    let climbStored!: () => void;
    const databaseBack = new Promise<void>((resolve) => (climbStored = resolve));
    let climbWaiting!: () => void;
    const climbing = new Promise<void>((resolve) => (climbWaiting = resolve));
    const worker = await workerWith({
      recordEscalationStep: async ({ step }: { step: { action: string } }) => {
        if (Context.current().info.isLocal) throw ApplicationFailure.nonRetryable('database slow');
        if (step.action === 'climbed') {
          climbWaiting();
          await databaseBack;
        }
      },
      notify: async (notice: { eventKey: string; subject: string }) => {
        notices.push({ eventKey: notice.eventKey, subject: notice.subject });
        return { sent: true };
      },
    });
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('escalation', {
        workflowId: 'escalation-regraded-while-climbing',
        taskQueue: 'esc',
        args: [{ ...anEscalation('e5', 'P1', new Date(await env.currentTimeMs()).toISOString()), announced: true }],
      });
      const slept = env.sleep(15 * 60_000 + 30_000);
      await climbing;

      // when it is re-graded P2 while its climb (step 2) is being stored, and the climb is stored after
      await handle.executeUpdate(changeSeverityUpdate, { args: [{ actor: 'pm', severity: 'P2' }] });
      climbStored();
      await slept;

      // then each notice has its own step's event key: the climb's is not dropped as the re-grade's repeat
      const state = await handle.query(escalationStateQuery);
      expect(state.steps.map((s) => s.action)).toEqual(['raised', 'climbed', 'severity-changed']);
      expect(notices).toEqual(
        expect.arrayContaining([
          { eventKey: 'escalation/e5/step-2', subject: '[P1] Outage: not acknowledged in time: escalated to you' },
          { eventKey: 'escalation/e5/step-3', subject: '[P2] Outage: re-graded from P1 to P2' },
        ]),
      );
      expect(notices).toHaveLength(2);
      await handle.terminate('test over');
    });
  });
});

function anEscalation(escalationId: string, severity: EscalationInput['severity'], raisedAt: string): EscalationInput {
  return {
    escalationId,
    engagementId: 'g1',
    severity,
    title: 'Outage',
    category: 'outage',
    raisedAt,
    timeZone: 'UTC',
    levels,
    policies: { ...policies, P3: { ...policies.P3, businessHours: false } },
    requiresRootCause: false,
  };
}
