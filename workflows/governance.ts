import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { createEscalationActivities } from '../activities/escalations';
import type { createGovernanceActivities, createReviewPublishing } from '../activities/governance';
import type { createNotificationActivities } from '../activities/notifications';
import { firstPeriodFrom, nextPeriod, serviceShareOf, type Period } from '../src/domain/calendar';
import { lifecycleWorkflowId } from '../src/domain/lifecycle';
import { reviewNotice } from '../src/domain/review-notice';
import type { ReviewCadence } from '../src/domain/types';
import {
  governanceStateQuery,
  REVIEWS_PER_RUN,
  serviceEndsSignal,
  type GovernanceInput,
  type GovernanceState,
} from './governance.messages';
import { governanceEndedSignal } from './lifecycle.messages';
import { localFirst, localFirstOptions, localThenRegular } from './local-first';
import { notices } from './notify';
import { signalIfRunning } from './signal-if-running';

type GovernanceActivities = ReturnType<typeof createGovernanceActivities> & ReturnType<typeof createReviewPublishing>;

const db = proxyActivities<
  GovernanceActivities & ReturnType<typeof createEscalationActivities> & ReturnType<typeof createNotificationActivities>
>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * Marks where a run began conducting reviews by a local activity. Runs started earlier have `conductReview` activity
 * tasks in their histories: on replay they keep scheduling one, up to this marker.
 */
export const CONDUCT_REVIEW_AS_LOCAL_ACTIVITY_PATCH = 'conduct-review-as-local-activity';

// A review is the most frequent activity of an engagement (every week for years) and a few milliseconds of queries:
// run within the workflow task, it saves the round trips of an activity task and of the workflow task that follows.
// An attempt is four statements; 10 s leaves room for a busy database. Retrying locally holds the workflow task
// open, so after a minute the review goes to the regular activity, retried by the server (localFirst).
const local = proxyLocalActivities<GovernanceActivities>(localFirstOptions('10 seconds'));
const conductReview = localFirst(CONDUCT_REVIEW_AS_LOCAL_ACTIVITY_PATCH, local.conductReview, db.conductReview);

/**
 * Marks where a run began publishing each review's scorecard from the review's own activity. Runs started earlier
 * conduct the review and then send its notice by a second activity; on replay they keep doing so, up to this marker.
 */
export const REVIEW_PUBLISHES_SCORECARD_PATCH = 'review-publishes-scorecard';

// The review and its notice in one local activity: a review saves the round trip of a second one. Its attempt allows
// for the review's statements and a webhook's own 10 s.
const reviewAndPublish = localThenRegular(
  proxyLocalActivities<GovernanceActivities>(localFirstOptions('20 seconds')).reviewAndPublish,
  db.reviewAndPublish,
);

/**
 * Marks where a run began raising escalations by a local activity; runs started earlier keep their `raiseEscalation`
 * activity tasks on replay, up to this marker.
 */
export const RAISE_ESCALATION_AS_LOCAL_ACTIVITY_PATCH = 'raise-escalation-as-local-activity';

// A breach that escalates recurs with its review (monthly, for an engagement in trouble): one statement, the first
// level's notice and the escalation workflow's start, within the review's workflow task like the review itself. Its
// attempt allows for a webhook's own 10 s.
const localRaise = proxyLocalActivities<ReturnType<typeof createEscalationActivities>>(localFirstOptions('20 seconds'));
const raiseEscalation = localFirst(
  RAISE_ESCALATION_AS_LOCAL_ACTIVITY_PATCH,
  localRaise.raiseEscalation,
  db.raiseEscalation,
);

/**
 * Marks where a run began listening for the service's end (`serviceEndsSignal`): it reviews no period after it, and
 * ends once the last one within it is reviewed, telling the lifecycle. Before it, governance reviewed on until the
 * lifecycle stopped it at closure: see the lifecycle's `GOVERNANCE_TO_THE_SERVICE_END_PATCH`.
 */
export const SERVICE_END_PATCH = 'governance-ends-with-the-service';

/**
 * Marks where a run began reviewing a period the service's end cuts through, for the days the service ran (its
 * credits owed on the fee for those days). Before it, such a period went unreviewed.
 */
export const SHORT_PERIOD_PATCH = 'governance-reviews-the-period-the-service-end-cuts';

/**
 * Steady-state governance of one engagement: every enabled cadence's review runs shortly after its calendar
 * period closes (after the grace period for late data), in order of due time, none skipped or doubled — also
 * across continue-as-new, which carries only the next period per cadence.
 */
export async function governance(input: GovernanceInput): Promise<void> {
  const outbox = notices(db.notify, input.notices);
  const cursors: Partial<Record<ReviewCadence, Period>> = { ...input.cursors };
  for (const cadence of input.cadences) {
    cursors[cadence] ??= firstPeriodFrom(cadence, Date.parse(input.startAt), input.timeZone);
  }
  const dueAt = (p: Period) => Date.parse(p.end) + input.graceSeconds * 1000;
  const state: GovernanceState = {
    engagementId: input.engagementId,
    cadences: input.cadences,
    startAt: input.startAt,
    next: [],
    reviewsDone: input.reviewsDone ?? 0,
    ...(input.lastReview && { lastReview: input.lastReview }),
    ...(input.serviceEndsAt && { serviceEndsAt: input.serviceEndsAt }),
  };
  setHandler(serviceEndsSignal, (at) => {
    // The earliest end told stands: a later one (a lifecycle started again, its exit date rebuilt) does not widen it.
    if (!state.serviceEndsAt || Date.parse(at) < Date.parse(state.serviceEndsAt)) state.serviceEndsAt = at;
  });
  // What is reviewed of a period once the service's end is known: all of it, the days the service ran of one the end
  // cuts through, or nothing after the end.
  const reviewedOf = (p: Period, endsAt: string): Period | null => {
    const share = serviceShareOf(p, endsAt, input.timeZone);
    // (A period within the service is its own share; only a cut one asks the patch.)
    return share === p || (share && patched(SHORT_PERIOD_PATCH)) ? share : null;
  };
  // Each cadence's period to review next, if any.
  const due = new Map<ReviewCadence, Period>();
  const refresh = () => {
    const endsAt = state.serviceEndsAt;
    due.clear();
    for (const c of input.cadences) {
      const p = endsAt ? reviewedOf(cursors[c]!, endsAt) : cursors[c]!;
      if (p) due.set(c, p);
    }
    state.next = [...due.values()]
      .map((p) => ({
        cadence: p.cadence,
        periodStart: p.start,
        periodEnd: p.end,
        dueAt: new Date(dueAt(p)).toISOString(),
      }))
      .sort((a, b) => a.dueAt.localeCompare(b.dueAt));
  };
  setHandler(governanceStateQuery, () => state);

  let reviewsThisRun = 0;
  while (input.cadences.length > 0) {
    refresh();
    // The service has ended and its last periods are reviewed.
    if (state.next.length === 0) return endWithTheService();
    const { cadence } = state.next[0];
    const period = due.get(cadence)!;
    const wait = Math.max(0, dueAt(period) - Date.now());
    // Told meanwhile that the service ends, the period waited for may be past it: what is due is worked out again.
    // (A run from before the patch sleeps on, then does so; the wait is at least 1 ms, as that sleep's timer is.)
    const told = state.serviceEndsAt;
    if (patched(SERVICE_END_PATCH)) {
      if (await condition(() => state.serviceEndsAt !== told, Math.max(1, wait))) continue;
    } else {
      await sleep(wait);
      if (state.serviceEndsAt !== told) continue;
    }

    const reviewing = { engagementId: input.engagementId, period, timeZone: input.timeZone };
    // A notice the review could not send (its notifier down) is sent below, with retries of its own.
    const { published, ...outcome } = patched(REVIEW_PUBLISHES_SCORECARD_PATCH)
      ? await reviewAndPublish(reviewing)
      : { ...(await conductReview(reviewing)), published: false };
    for (const breach of outcome.breaches.filter((b) => b.escalate)) {
      await raiseEscalation({
        engagementId: input.engagementId,
        severity: breach.status === 'missing' ? 'P2' : 'P3',
        category: breach.key,
        title:
          breach.status === 'missing'
            ? `No ${breach.key} data for ${outcome.periodFrom} – ${outcome.periodTo}`
            : `${breach.key} breached its minimum`,
        description:
          breach.status === 'missing'
            ? breach.measuredDays
              ? `${breach.key} was measured for ${breach.measuredDays} of the period's ${breach.periodDays} days by the end of the grace period: counted as missing, a breach.`
              : `No ${breach.key} measurement was submitted for the period by the end of the grace period: counted as a breach.`
            : `${breach.key} was ${breach.value} for ${outcome.periodFrom} – ${outcome.periodTo}, worse than its minimum.`,
        raisedBy: 'workflow:governance',
        raisedAt: new Date(Date.now()).toISOString(),
        key: `review/${cadence}/${outcome.periodFrom}/${breach.key}`,
      });
    }
    if (!published) await outbox.send(reviewNotice(input.engagementId, outcome));
    // From the calendar period, not the part of it reviewed: the cursor stays a whole period (and past the service).
    cursors[cadence] = nextPeriod(cursors[cadence]!, input.timeZone);
    state.reviewsDone++;
    state.lastReview = {
      reviewId: outcome.reviewId,
      cadence,
      periodFrom: outcome.periodFrom,
      periodTo: outcome.periodTo,
      overallScore: outcome.overallScore,
    };
    reviewsThisRun++;

    if (reviewsThisRun >= REVIEWS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof governance>({
        ...input,
        notices: outbox.unsent(),
        cursors,
        reviewsDone: state.reviewsDone,
        lastReview: state.lastReview,
        serviceEndsAt: state.serviceEndsAt,
      });
    }
  }

  async function endWithTheService(): Promise<void> {
    // The lifecycle closes the engagement once this is said; a governance started on its own has none to tell.
    await signalIfRunning(lifecycleWorkflowId(input.engagementId), governanceEndedSignal);
    await outbox.settled();
    await condition(allHandlersFinished);
  }
}
