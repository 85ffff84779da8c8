import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { createReviewPublishing } from '../../activities/governance';
import { periodDates, type Period } from '../../src/domain/calendar';
import type { ReviewCadence } from '../../src/domain/types';
import {
  governanceStateQuery,
  REVIEWS_PER_RUN,
  serviceEndsSignal,
  type GovernanceInput,
} from '../../workflows/governance.messages';
import { recordHistoryIfAsked } from '../helpers/record';
import { createTimeSkippingEnv, workflowBundle } from '../helpers/temporal';

type Conducted = { cadence: ReviewCadence; from: string; to: string };
type GovernanceActivities = Pick<Activities, 'conductReview' | 'raiseEscalation' | 'notify'>;

/** Years of reviews in seconds on the time-skipping server; activities are stand-ins that record what they were asked. */
describe('governance workflow (time-skipping)', () => {
  // A server per test: each one's clock starts from today, so its dates lie ahead of it.
  let env: TestWorkflowEnvironment;
  beforeEach(async () => {
    env = await createTimeSkippingEnv();
  });
  afterEach(() => env?.teardown());

  /** Runs governance until `until` (workflow time), then hands the still-running workflow to `inspect` (worker up). */
  async function runGovernance(
    taskQueue: string,
    input: Omit<GovernanceInput, 'engagementId' | 'vendorId'>,
    until: string,
    inspect: (handle: WorkflowHandleWithFirstExecutionRunId, conducted: Conducted[]) => Promise<void>,
    overrides: (standIns: GovernanceActivities) => Partial<GovernanceActivities> = () => ({}),
    /** Sent to the workflow at `at`, before `until`. */
    steer?: { at: string; send: (handle: WorkflowHandleWithFirstExecutionRunId) => Promise<unknown> },
  ) {
    const conducted: Conducted[] = [];
    const standIns: GovernanceActivities = {
      conductReview: async ({ period, timeZone }: { period: Period; timeZone: string }) => {
        const { from, to } = periodDates(period, timeZone);
        conducted.push({ cadence: period.cadence, from, to });
        return {
          reviewId: `${period.cadence}-${from}`,
          cadence: period.cadence,
          periodFrom: from,
          periodTo: to,
          overallScore: 99,
          creditsTotal: '0.00',
          breaches: [],
        };
      },
      raiseEscalation: async () => ({ escalationId: 'none' }),
      notify: async () => ({ sent: true }),
    };
    const chosen = { ...standIns, ...overrides(standIns) };
    // The review-and-notice activity as the worker composes it, from the stand-ins.
    const activities = { ...chosen, ...createReviewPublishing(chosen.conductReview, chosen.notify) };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('governance', {
        workflowId: `governance-${taskQueue}`,
        taskQueue,
        args: [{ engagementId: 'e1', vendorId: 'v1', ...input }],
      });
      if (steer) {
        await env.sleep(Date.parse(steer.at) - (await env.currentTimeMs()));
        await steer.send(handle);
      }
      await env.sleep(Date.parse(until) - (await env.currentTimeMs()));
      await inspect(handle, conducted);
      if ((await handle.describe()).status.name === 'RUNNING') await handle.terminate('test over');
    });
  }

  it('runs exactly 52 weekly, 12 monthly and 4 quarterly reviews in a year, each for its calendar period', async () => {
    await runGovernance(
      'governance-year',
      {
        timeZone: 'Europe/Paris',
        cadences: ['WEEKLY', 'MONTHLY', 'QUARTERLY'],
        graceSeconds: 3 * 86_400,
        startAt: '2028-12-31T23:00:00.000Z',
      },
      '2030-01-04T00:00:00.000Z',
      async (handle, conducted) => {
        const inYear = conducted.filter((c) => c.to <= '2029-12-31');
        const of = (cadence: ReviewCadence) => inYear.filter((c) => c.cadence === cadence);
        expect(of('WEEKLY')).toHaveLength(52);
        expect(of('MONTHLY')).toHaveLength(12);
        expect(of('QUARTERLY')).toHaveLength(4);
        expect(of('WEEKLY')[0]).toMatchObject({ from: '2029-01-01', to: '2029-01-07' });
        expect(of('WEEKLY')[51]).toMatchObject({ from: '2029-12-24', to: '2029-12-30' });
        expect(of('MONTHLY').map((c) => `${c.from}/${c.to}`)).toContain('2029-02-01/2029-02-28');
        expect(of('QUARTERLY').map((c) => `${c.from}/${c.to}`)).toEqual([
          '2029-01-01/2029-03-31',
          '2029-04-01/2029-06-30',
          '2029-07-01/2029-09-30',
          '2029-10-01/2029-12-31',
        ]);
        // no period twice
        expect(new Set(conducted.map((c) => `${c.cadence}/${c.from}`)).size).toBe(conducted.length);
        // the next reviews wait for their period to close and the 3-day grace for late data to pass
        const state = await handle.query(governanceStateQuery);
        expect(state.next.map((n) => [n.cadence, n.periodStart, n.dueAt])).toEqual([
          ['WEEKLY', '2029-12-30T23:00:00.000Z', '2030-01-09T23:00:00.000Z'],
          ['MONTHLY', '2029-12-31T23:00:00.000Z', '2030-02-03T23:00:00.000Z'],
          ['QUARTERLY', '2029-12-31T23:00:00.000Z', '2030-04-03T22:00:00.000Z'],
        ]);
        await recordHistoryIfAsked(handle, 'governance-year-time-skipping-local-review');
      },
    );
  });

  it('told that the service ends, reviews every period within it, the days it ran of one it cuts, none after, then ends; the earliest end stands', async () => {
    await runGovernance(
      'governance-service-end',
      {
        timeZone: 'America/Los_Angeles',
        cadences: ['WEEKLY', 'MONTHLY'],
        graceSeconds: 86_400,
        // midnight in Los Angeles on Monday 2027-01-04
        startAt: '2027-01-04T08:00:00.000Z',
      },
      '2027-06-01T00:00:00.000Z',
      async (handle, conducted) => {
        expect((await handle.describe()).status.name).toBe('COMPLETED');
        // a term ending at midnight UTC on 2027-04-01 ends on 2027-03-31 in Los Angeles: March is its last month, and
        // of the week of 2027-03-29 (to 2027-04-04) the service ran Monday to Wednesday, which are reviewed
        const of = (cadence: ReviewCadence) =>
          conducted.filter((c) => c.cadence === cadence).map((c) => `${c.from}/${c.to}`);
        expect(of('MONTHLY')).toEqual(['2027-02-01/2027-02-28', '2027-03-01/2027-03-31']);
        expect(of('WEEKLY')).toHaveLength(13);
        expect(of('WEEKLY').slice(-2)).toEqual(['2027-03-22/2027-03-28', '2027-03-29/2027-03-31']);
        await recordHistoryIfAsked(handle, 'governance-reviews-the-period-the-service-end-cuts');
      },
      undefined,
      {
        at: '2027-02-15T00:00:00.000Z',
        send: async (handle) => {
          await handle.signal(serviceEndsSignal, '2027-04-01T00:00:00.000Z');
          // a later date told afterwards (a lifecycle started again) does not widen the service
          await handle.signal(serviceEndsSignal, '2027-05-01T00:00:00.000Z');
        },
      },
    );
  });

  it('publishes each review’s scorecard from the review’s own activity, one notice per review', async () => {
    const notices: Array<{ eventKey: string; subject: string; local: boolean }> = [];
    await runGovernance(
      'governance-publishing',
      { timeZone: 'UTC', cadences: ['MONTHLY'], graceSeconds: 86_400, startAt: '2029-01-01T00:00:00.000Z' },
      '2029-03-03T00:00:00.000Z',
      async (_handle, conducted) => {
        expect(conducted).toHaveLength(2);
        expect(notices).toEqual([
          { eventKey: 'review/MONTHLY-2029-01-01', subject: expect.stringContaining('2029-01-01'), local: true },
          { eventKey: 'review/MONTHLY-2029-02-01', subject: expect.stringContaining('2029-02-01'), local: true },
        ]);
        expect(notices[0].subject).toBe('monthly review 2029-01-01 – 2029-01-31: score 99, credits 0.00');
      },
      () => ({
        notify: async (notice) => {
          notices.push({ eventKey: notice.eventKey, subject: notice.subject, local: Context.current().info.isLocal });
          return { sent: true };
        },
      }),
    );
  });

  it('sends a notice by a regular activity, retried by the server, when the local activity gives up', async () => {
    const attempts: Array<{ subject: string; local: boolean }> = [];
    await runGovernance(
      'governance-notifier-down',
      { timeZone: 'UTC', cadences: ['MONTHLY'], graceSeconds: 86_400, startAt: '2029-01-01T00:00:00.000Z' },
      '2029-03-03T00:00:00.000Z',
      async (_handle, conducted) => {
        expect(conducted).toHaveLength(2);
        // Per review: the review's own try, the workflow's local notify giving up, then the regular activity.
        expect(attempts.map((a) => a.local)).toEqual([true, true, false, true, true, false]);
        expect(new Set(attempts.slice(0, 3).map((a) => a.subject)).size).toBe(1);
      },
      () => ({
        notify: async (notice) => {
          const local = Context.current().info.isLocal;
          attempts.push({ subject: notice.subject, local });
          // As a webhook that keeps refusing would, once the local activity's minute is over.
          if (local) throw ApplicationFailure.nonRetryable('webhook refused the notice');
          return { sent: true };
        },
      }),
    );
  });

  it('conducts a review by a regular activity, retried by the server, when the local activity gives up', async () => {
    const attempts: Array<{ from: string; local: boolean }> = [];
    await runGovernance(
      'governance-database-down',
      { timeZone: 'UTC', cadences: ['MONTHLY'], graceSeconds: 86_400, startAt: '2029-01-01T00:00:00.000Z' },
      '2029-03-03T00:00:00.000Z',
      async (handle, conducted) => {
        expect(conducted.map((c) => c.from)).toEqual(['2029-01-01', '2029-02-01']);
        expect(attempts).toEqual([
          { from: '2029-01-01', local: true },
          { from: '2029-01-01', local: false },
          { from: '2029-02-01', local: true },
          { from: '2029-02-01', local: false },
        ]);
        expect((await handle.query(governanceStateQuery)).reviewsDone).toBe(2);
      },
      (standIns) => ({
        conductReview: async (input) => {
          const local = Context.current().info.isLocal;
          attempts.push({ from: periodDates(input.period, input.timeZone).from, local });
          // As a database that keeps failing would, once the local activity's minute is over.
          if (local) throw ApplicationFailure.nonRetryable('database refused the review');
          return standIns.conductReview(input);
        },
      }),
    );
  });

  /** Monthly reviews from January 2029 whose customer satisfaction is below its minimum from February on. */
  const breachingFromFebruary =
    (standIns: GovernanceActivities) =>
    (raised: Array<{ key: string; local: boolean }>, failLocally: boolean): Partial<GovernanceActivities> => ({
      conductReview: async (input) => {
        const outcome = await standIns.conductReview(input);
        if (outcome.periodFrom < '2029-02-01') return outcome;
        return {
          ...outcome,
          breaches: [
            { key: 'csat', status: 'breached' as const, value: 70, escalate: true },
            { key: 'asa', status: 'breached' as const, value: 31, escalate: false },
          ],
        };
      },
      raiseEscalation: async (input) => {
        const local = Context.current().info.isLocal;
        raised.push({ key: input.key, local });
        // As a database that keeps failing would, once the local activity's minute is over.
        if (local && failLocally) throw ApplicationFailure.nonRetryable('database refused the escalation');
        return { escalationId: `escalation-${input.key}` };
      },
    });

  it('raises an escalation for each breach that escalates, by a local activity, once per breach', async () => {
    const raised: Array<{ key: string; local: boolean }> = [];
    await runGovernance(
      'governance-breaches',
      { timeZone: 'UTC', cadences: ['MONTHLY'], graceSeconds: 86_400, startAt: '2029-01-01T00:00:00.000Z' },
      '2029-04-03T00:00:00.000Z',
      async (handle, conducted) => {
        expect(conducted).toHaveLength(3);
        expect(raised).toEqual([
          { key: 'review/MONTHLY/2029-02-01/csat', local: true },
          { key: 'review/MONTHLY/2029-03-01/csat', local: true },
        ]);
        await recordHistoryIfAsked(handle, 'governance-breaches-review-publishes');
      },
      (standIns) => breachingFromFebruary(standIns)(raised, false),
    );
  });

  it('raises an escalation by a regular activity, retried by the server, when the local activity gives up', async () => {
    const raised: Array<{ key: string; local: boolean }> = [];
    await runGovernance(
      'governance-escalations-down',
      { timeZone: 'UTC', cadences: ['MONTHLY'], graceSeconds: 86_400, startAt: '2029-01-01T00:00:00.000Z' },
      '2029-03-03T00:00:00.000Z',
      async (handle) => {
        expect(raised).toEqual([
          { key: 'review/MONTHLY/2029-02-01/csat', local: true },
          { key: 'review/MONTHLY/2029-02-01/csat', local: false },
        ]);
        expect((await handle.query(governanceStateQuery)).reviewsDone).toBe(2);
      },
      (standIns) => breachingFromFebruary(standIns)(raised, true),
    );
  });

  it('still shows the last review right after continuing as new, before the next one runs', async () => {
    await runGovernance(
      'governance-carry',
      { timeZone: 'UTC', cadences: ['WEEKLY'], graceSeconds: 86_400, startAt: '2027-01-04T00:00:00.000Z' },
      // the 40th weekly review (week of 2027-10-04) is due on 2027-10-12; the 41st a week later
      '2027-10-14T00:00:00.000Z',
      async (handle, conducted) => {
        expect(conducted).toHaveLength(REVIEWS_PER_RUN);
        const { raw } = await handle.describe();
        expect(raw.workflowExecutionInfo?.execution?.runId).not.toBe(handle.firstExecutionRunId);
        const state = await handle.query(governanceStateQuery);
        expect(state.reviewsDone).toBe(REVIEWS_PER_RUN);
        expect(state.lastReview).toEqual({
          reviewId: 'WEEKLY-2027-10-04',
          cadence: 'WEEKLY',
          periodFrom: '2027-10-04',
          periodTo: '2027-10-10',
          overallScore: 99,
        });
      },
    );
  });

  it('keeps a 5-year engagement’s history bounded by continuing as new, with no review skipped or doubled', async () => {
    await runGovernance(
      'governance-5y',
      {
        timeZone: 'UTC',
        cadences: ['WEEKLY', 'MONTHLY', 'QUARTERLY', 'ANNUAL'],
        graceSeconds: 86_400,
        startAt: '2027-01-01T00:00:00.000Z',
      },
      '2032-01-03T00:00:00.000Z',
      async (handle, conducted) => {
        const weekly = conducted.filter((c) => c.cadence === 'WEEKLY');
        expect(conducted.filter((c) => c.cadence === 'MONTHLY')).toHaveLength(60);
        expect(conducted.filter((c) => c.cadence === 'QUARTERLY')).toHaveLength(20);
        expect(conducted.filter((c) => c.cadence === 'ANNUAL')).toHaveLength(5);
        // consecutive weekly periods, no gap and no repeat across the run boundaries
        weekly.forEach((w, i) => {
          if (i > 0) expect(Date.parse(w.from) - Date.parse(weekly[i - 1].from)).toBe(7 * 86_400_000);
        });
        expect(new Set(conducted.map((c) => `${c.cadence}/${c.from}`)).size).toBe(conducted.length);

        // every run of the chain stays under the bound
        const sizes: number[] = [];
        const runId: string | undefined =
          (await handle.describe()).raw.workflowExecutionInfo?.execution?.runId ?? undefined;
        let first = handle.firstExecutionRunId;
        for (let guard = 0; guard < 100 && first; guard++) {
          const history = await env.client.workflow.getHandle(handle.workflowId, first).fetchHistory();
          sizes.push(history.events!.length);
          const next = history.events!.find((e) => e.workflowExecutionContinuedAsNewEventAttributes)
            ?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
          if (!next || first === runId) break;
          first = next;
        }
        const HISTORY_BOUND = 1_500;
        expect(sizes.length).toBeGreaterThanOrEqual(Math.floor(conducted.length / REVIEWS_PER_RUN));
        expect(Math.max(...sizes)).toBeLessThan(HISTORY_BOUND);
        console.info(
          `5 years: ${conducted.length} reviews in ${sizes.length} runs; largest run history ${Math.max(...sizes)} events`,
        );
      },
    );
  });
});
