import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createEscalationActivities } from '../activities/escalations';
import type { createNotificationActivities } from '../activities/notifications';
import { deadlineAfter } from '../src/domain/calendar';
import { escalationNotice, REPEAT_THRESHOLD, REPEAT_WINDOW_DAYS } from '../src/domain/escalation';
import { SEVERITIES } from '../src/domain/types';
import {
  acknowledgeUpdate,
  changeSeverityUpdate,
  CLOCK_STEPS,
  escalationStateQuery,
  reassignUpdate,
  resolveUpdate,
  type EscalationInput,
  type EscalationState,
  type EscalationStepRecord,
} from './escalation.messages';
import { localFirst, localFirstOptions } from './local-first';
import { notices } from './notify';

const db = proxyActivities<
  ReturnType<typeof createEscalationActivities> & ReturnType<typeof createNotificationActivities>
>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * Marks where a run began recording its steps by a local activity. Runs started earlier have `recordEscalationStep`
 * activity tasks in their histories: on replay they keep scheduling one, up to this marker.
 */
export const ESCALATION_STEP_AS_LOCAL_ACTIVITY_PATCH = 'escalation-step-as-local-activity';

// A step is one statement of a few milliseconds, recorded at every climb and reminder and within every acknowledge,
// resolve, reassign or severity update: run within the workflow task, it saves the round trips of an activity task
// and of the workflow task that follows, and an update's caller waits that much less. 5 s leaves room for a busy
// database. Retrying locally holds the workflow task open, so after a minute the step goes to the regular activity,
// retried by the server (localFirst).
const local = proxyLocalActivities<ReturnType<typeof createEscalationActivities>>(localFirstOptions('5 seconds'));
const recordEscalationStep = localFirst(
  ESCALATION_STEP_AS_LOCAL_ACTIVITY_PATCH,
  local.recordEscalationStep,
  db.recordEscalationStep,
);

/**
 * One escalation: waits for acknowledgement, then resolution, each against its severity's deadline; a missed
 * deadline climbs one level of the matrix and notifies that level; at the top it keeps reminding the top.
 */
/** How often the top of the matrix is reminded once an escalation has reached it. */
const REMIND_EVERY_SECONDS = 86_400;
/** A business day, for a policy counted in business hours (09:00–17:00). */
const REMIND_EVERY_BUSINESS_SECONDS = 8 * 3_600;
/** Patch id: in business hours a daily reminder is a business day away (before: 24 business hours, three days). */
const BUSINESS_DAY_REMINDERS = 'escalation-reminders-by-business-day';
/** Patch id: daily reminders at the top only while the last step there is the system's (climbed or reminded). */
const TOP_DEADLINE_AFTER_A_PERSON_ACTS = 'escalation-top-deadline-after-a-person-acts';
/**
 * Patch id: a re-grade starts the new severity's deadline from the re-grade at every level, and tells the current
 * level of it. Before it, below the top the deadline still ran from the raise or the last climb: a P3 re-graded P1 an
 * hour after its raise climbed at once, and the level holding it never heard it was now a P1.
 */
const REGRADE_RESTARTS_THE_CLOCK = 'escalation-regrade-restarts-the-clock-and-notifies';

export async function escalation(input: EscalationInput): Promise<EscalationState> {
  const state: EscalationState = input.resume ?? {
    escalationId: input.escalationId,
    status: 'OPEN',
    severity: input.severity,
    level: 1,
    levelSince: input.raisedAt,
    nextClimbAt: null,
    requiresRootCause: input.requiresRootCause,
    steps: [{ level: 1, action: 'raised', at: input.raisedAt, actor: 'system' }],
  };
  let revision = 0;
  const top = Math.max(...input.levels.map((l) => l.level));
  const now = () => new Date(Date.now()).toISOString();
  const illegal = (message: string) => ApplicationFailure.nonRetryable(message, 'IllegalEscalationRequest');
  const open = () => {
    if (state.status === 'RESOLVED') throw illegal('the escalation is resolved');
  };
  const requireActor = (actor: unknown) => {
    if (typeof actor !== 'string' || !actor.trim()) throw illegal('actor is required');
  };

  /** Records a step in PostgreSQL (once per step number) and in the workflow state. */
  const record = async (
    step: EscalationStepRecord,
    update: Parameters<typeof db.recordEscalationStep>[0]['update'],
  ) => {
    // The step's number is taken at once: a person's step that comes in while this one is stored takes the next.
    const stepNumber = state.steps.push(step) + (state.skippedSteps ?? 0);
    revision++;
    await recordEscalationStep({ escalationId: input.escalationId, stepNumber, step, update });
  };

  const outbox = notices(db.notify, input.notices);
  /** The number the last step took (the next one takes the one after). */
  const lastStepNumber = () => state.steps.length + (state.skippedSteps ?? 0);
  /** The notice of step `stepNumber` (by default the last one stored) to the level holding the escalation. */
  const noticeOf = (reason: string, stepNumber = lastStepNumber()) =>
    escalationNotice(
      input,
      input.levels,
      { stepNumber, level: state.level, severity: state.severity, status: state.status },
      reason,
    );
  /**
   * Records the system's step and tells the level holding the escalation, with that step's notice (its number, level
   * and severity): built before the step is stored, while a person's step may come in and take the next number.
   */
  const recordAndNotify = async (
    step: EscalationStepRecord,
    update: Parameters<typeof db.recordEscalationStep>[0]['update'],
    reason: string,
  ) => {
    const notice = noticeOf(reason, lastStepNumber() + 1);
    await record(step, update);
    await outbox.send(notice);
  };

  setHandler(escalationStateQuery, () => state);

  setHandler(
    acknowledgeUpdate,
    async ({ actor, note }) => {
      state.status = 'ACKNOWLEDGED';
      state.levelSince = now();
      await record({ level: state.level, action: 'acknowledged', at: now(), actor, note }, { status: 'ACKNOWLEDGED' });
      return state;
    },
    {
      validator: ({ actor }) => {
        requireActor(actor);
        open();
        if (state.status !== 'OPEN') throw illegal('the escalation is already acknowledged');
      },
    },
  );

  setHandler(
    resolveUpdate,
    async ({ actor, resolution, rootCause }) => {
      state.status = 'RESOLVED';
      state.nextClimbAt = null;
      await record(
        { level: state.level, action: 'resolved', at: now(), actor, note: resolution },
        { status: 'RESOLVED', resolution, rootCause },
      );
      return state;
    },
    {
      validator: ({ actor, resolution, rootCause }) => {
        requireActor(actor);
        open();
        if (typeof resolution !== 'string' || resolution.trim().length < 3) throw illegal('a resolution is required');
        if (state.requiresRootCause && !(typeof rootCause === 'string' && rootCause.trim().length >= 3)) {
          throw illegal(
            `a root-cause analysis is required: this is a repeated issue (${REPEAT_THRESHOLD} or more "${input.category}" escalations within ${REPEAT_WINDOW_DAYS} days)`,
          );
        }
      },
    },
  );

  setHandler(
    reassignUpdate,
    async ({ actor, assignee }) => {
      state.assignee = assignee;
      await record({ level: state.level, action: 'reassigned', at: now(), actor, note: assignee }, { assignee });
      return state;
    },
    {
      validator: ({ actor, assignee }) => {
        requireActor(actor);
        open();
        if (typeof assignee !== 'string' || !assignee.trim()) throw illegal('an assignee is required');
        // A repeat (a request retried after its answer was lost) would add a step that changes nothing.
        if (assignee === state.assignee) throw illegal(`the escalation is already assigned to ${assignee}`);
      },
    },
  );

  setHandler(
    changeSeverityUpdate,
    async ({ actor, severity }) => {
      const from = state.severity;
      state.severity = severity;
      const restart = patched(REGRADE_RESTARTS_THE_CLOCK);
      if (restart) state.levelSince = now();
      // The notice is this step's (its number, level and severity): built before the step is stored, while another
      // step may come in.
      const notice = noticeOf(`re-graded from ${from} to ${severity}`, lastStepNumber() + 1);
      await record(
        { level: state.level, action: 'severity-changed', at: now(), actor, note: `${from} → ${severity}` },
        { severity },
      );
      if (restart) await outbox.send(notice);
      return state;
    },
    {
      validator: ({ actor, severity }) => {
        requireActor(actor);
        open();
        if (!(SEVERITIES as readonly string[]).includes(severity))
          throw illegal(`severity must be one of ${SEVERITIES.join(', ')}`);
        if (severity === state.severity) throw illegal(`the escalation is already ${severity}`);
      },
    },
  );

  // The raise sends this notice itself when its notifiers answer (`announced`); otherwise it is sent from here.
  if (!input.resume && !input.announced) await outbox.send(noticeOf('raised'));

  while (state.status !== 'RESOLVED') {
    const policy = input.policies[state.severity];
    const deadlineSeconds = state.status === 'OPEN' ? policy.acknowledgeSeconds : policy.resolveSeconds;
    // At the top of the matrix there is no one left to climb to: once the escalation has climbed there or missed a
    // deadline there, remind daily rather than at every deadline. An acknowledgement or a severity change there
    // starts the policy's deadline again, from that moment (before this patch any step at the top but the raise, an
    // acknowledgement too, stretched the deadline to a day). A reassignment changes neither.
    let since = Date.parse(state.levelSince);
    let remindDaily: boolean;
    if (patched(TOP_DEADLINE_AFTER_A_PERSON_ACTS)) {
      const lastAtTop = state.steps.filter((s) => s.level >= top && CLOCK_STEPS.has(s.action)).at(-1);
      remindDaily = lastAtTop?.action === 'climbed' || lastAtTop?.action === 'reminded';
      if (state.level >= top && lastAtTop && !remindDaily) since = Math.max(since, Date.parse(lastAtTop.at));
    } else {
      remindDaily = state.steps.some((s) => s.level >= top && s.action !== 'raised');
    }
    const day =
      policy.businessHours && state.level >= top && remindDaily && patched(BUSINESS_DAY_REMINDERS)
        ? REMIND_EVERY_BUSINESS_SECONDS
        : REMIND_EVERY_SECONDS;
    const seconds = state.level >= top && remindDaily ? Math.max(deadlineSeconds, day) : deadlineSeconds;
    const deadline = deadlineAfter(since, seconds, policy.businessHours, input.timeZone);
    state.nextClimbAt = new Date(deadline).toISOString();
    const seen = revision;
    const changed = await condition(
      () => revision !== seen || state.status === 'RESOLVED',
      Math.max(0, deadline - Date.now()),
    );
    if (changed) continue;

    const missed = state.status === 'OPEN' ? 'not acknowledged in time' : 'not resolved in time';
    if (state.level < top) {
      state.level++;
      state.levelSince = now();
      await recordAndNotify(
        { level: state.level, action: 'climbed', at: now(), actor: 'system', note: missed },
        { currentLevel: state.level },
        `${missed}: escalated to you`,
      );
    } else {
      state.levelSince = now();
      await recordAndNotify(
        { level: state.level, action: 'reminded', at: now(), actor: 'system', note: missed },
        {},
        `${missed}: reminder`,
      );
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof escalation>({ ...input, resume: state, notices: outbox.unsent() });
    }
  }
  await outbox.settled();
  await condition(allHandlersFinished);
  return state;
}
