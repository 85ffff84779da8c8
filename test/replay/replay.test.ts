import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { ESCALATION_STEP_AS_LOCAL_ACTIVITY_PATCH } from '../../workflows/escalation';
import {
  CONDUCT_REVIEW_AS_LOCAL_ACTIVITY_PATCH,
  RAISE_ESCALATION_AS_LOCAL_ACTIVITY_PATCH,
  REVIEW_PUBLISHES_SCORECARD_PATCH,
  SERVICE_END_PATCH,
  SHORT_PERIOD_PATCH,
} from '../../workflows/governance';
import {
  CLOSING_RESOLVES_OPEN_ESCALATIONS_PATCH,
  EXIT_STEPS_DUE_ON_LOCAL_DAYS_PATCH,
  GOVERNANCE_TO_THE_SERVICE_END_PATCH,
  RENEWAL_ALERTS_PATCH,
} from '../../workflows/lifecycle';
import { NOTICES_DO_NOT_WAIT_PATCH, NOTIFY_AS_LOCAL_ACTIVITY_PATCH } from '../../workflows/notify';
import { RESUME_STORED_PROGRESS_PATCH, TRANSITION_STEPS_AS_LOCAL_ACTIVITIES_PATCH } from '../../workflows/transition';
import { workflowBundle } from '../helpers/temporal';

/**
 * Every recorded history under test/fixtures/histories must replay on today's workflow code: a change that would
 * break runs in flight (years-long ones included) fails here. Record new ones with `npm run record-history`.
 */
const dir = path.join(__dirname, '..', 'fixtures', 'histories');
const fixtures = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
const workflowTypes = ['engagementLifecycle', 'transition', 'governance', 'escalation'];
/** Activities that became local activities behind a patch, with the workflow types that call them. */
const localFirstPatches = [
  {
    activity: 'notify',
    patch: NOTIFY_AS_LOCAL_ACTIVITY_PATCH,
    types: ['engagementLifecycle', 'governance', 'escalation'],
  },
  { activity: 'conductReview', patch: CONDUCT_REVIEW_AS_LOCAL_ACTIVITY_PATCH, types: ['governance'] },
  { activity: 'raiseEscalation', patch: RAISE_ESCALATION_AS_LOCAL_ACTIVITY_PATCH, types: ['governance'] },
  // Before it, a review and its notice were two activities (the review's a regular one in the oldest histories).
  { activity: 'conductReview', patch: REVIEW_PUBLISHES_SCORECARD_PATCH, types: ['governance'] },
  { activity: 'recordEscalationStep', patch: ESCALATION_STEP_AS_LOCAL_ACTIVITY_PATCH, types: ['escalation'] },
  ...['storedProgress', 'moveEngagementStage', 'startPhase'].map((activity) => ({
    activity,
    patch: TRANSITION_STEPS_AS_LOCAL_ACTIVITIES_PATCH,
    types: ['transition'],
  })),
];
const localFirstCases = localFirstPatches.flatMap(({ activity, patch, types }) =>
  types.map((type) => [type, activity, patch] as const),
);

interface HistoryEvent {
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  workflowExecutionSignaledEventAttributes?: { signalName?: string };
  markerRecordedEventAttributes?: {
    markerName?: string;
    details?: Record<string, { payloads?: Array<{ data?: string }> }>;
  };
}

function readHistory(fixture: string): { events: HistoryEvent[] } {
  return JSON.parse(fs.readFileSync(path.join(dir, fixture), 'utf8'));
}

/** The ids of the patches (`patched()`) a history's markers record. */
function patchIds(events: HistoryEvent[]): string[] {
  return events
    .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
    .map((e) => e.markerRecordedEventAttributes!.details!['patch-data'].payloads![0].data!)
    .map((data) => JSON.parse(Buffer.from(data, 'base64').toString('utf8')).id);
}

describe('replay of recorded histories', () => {
  it.each(workflowTypes)('has at least one recorded history for %s', (type) => {
    expect(fixtures.some((f) => f.startsWith(`${type}-`))).toBe(true);
  });

  it.each(localFirstCases)(
    'has %s histories from before and after %s became a local activity (%s)',
    (type, activity, patch) => {
      const histories = fixtures.filter((f) => f.startsWith(`${type}-`)).map((f) => readHistory(f).events);
      const before = histories.filter(
        (events) =>
          !patchIds(events).includes(patch) &&
          events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity),
      );
      const after = histories.filter((events) => patchIds(events).includes(patch));
      expect({ before: before.length > 0, after: after.length > 0 }).toEqual({ before: true, after: true });
    },
  );

  // Governance sends a notice of its own only when a review could not publish one: no recorded run has that.
  it.each(['engagementLifecycle', 'escalation'])(
    'has %s histories from before and after notices stopped holding the workflow',
    (type) => {
      const marked = fixtures
        .filter((f) => f.startsWith(`${type}-`))
        .map((f) => patchIds(readHistory(f).events).includes(NOTICES_DO_NOT_WAIT_PATCH));
      expect({ before: marked.includes(false), after: marked.includes(true) }).toEqual({ before: true, after: true });
    },
  );

  it('has transition histories from before and after a run started again resumes its stored phases', () => {
    const marked = fixtures
      .filter((f) => f.startsWith('transition-'))
      .map((f) => patchIds(readHistory(f).events).includes(RESUME_STORED_PROGRESS_PATCH));
    expect({ before: marked.includes(false), after: marked.includes(true) }).toEqual({ before: true, after: true });
  });

  type Events = HistoryEvent[];
  const always = () => true;
  // A history from before a patch replays its old branch only if it reached the code the patch changed.
  const exited = (events: Events) =>
    events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'createExitPlan');
  const closed = (events: HistoryEvent[]) =>
    events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'completeExitPlan');
  const toldTheServiceEnds = (events: Events) =>
    events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'serviceEnds');
  it.each([
    ['engagementLifecycle', RENEWAL_ALERTS_PATCH, always],
    ['engagementLifecycle', GOVERNANCE_TO_THE_SERVICE_END_PATCH, exited],
    ['engagementLifecycle', EXIT_STEPS_DUE_ON_LOCAL_DAYS_PATCH, exited],
    ['engagementLifecycle', CLOSING_RESOLVES_OPEN_ESCALATIONS_PATCH, closed],
    ['governance', SERVICE_END_PATCH, always],
    ['governance', SHORT_PERIOD_PATCH, toldTheServiceEnds],
  ] as const)('has %s histories from before and after %s', (type, patch, reachesIt) => {
    const histories = fixtures.filter((f) => f.startsWith(`${type}-`)).map((f) => readHistory(f).events);
    const before = histories.filter((events) => !patchIds(events).includes(patch) && reachesIt(events));
    const after = histories.filter((events) => patchIds(events).includes(patch));
    expect({ before: before.length > 0, after: after.length > 0 }).toEqual({ before: true, after: true });
  });

  it.each(fixtures)('replays %s without nondeterminism', async (fixture) => {
    const history = readHistory(fixture);
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, fixture.replace(/\.json$/, '')),
    ).resolves.toBeUndefined();
  });
});
