import {
  ActivityCancellationType,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Activities } from '../activities';
import { lifecycleEscalationKeys } from '../src/domain/escalation';
import { msUntil, type LifecycleStage } from '../src/domain/lifecycle';
import { minimumSeconds } from '../src/domain/transition';
import {
  EXIT_STEP_KINDS,
  dueDay,
  exitPlan,
  missingExitEvidence,
  nextTerm,
  renewalAlerts,
  renewalMilestones,
  vendorOwned,
  type RenewalDecisionKind,
} from '../src/domain/renewal';
import {
  completeExitStepUpdate,
  decideRenewalUpdate,
  governanceEndedSignal,
  lifecycleStateQuery,
  terminateForCauseUpdate,
  transitionEndedSignal,
  type LifecycleInput,
  type LifecycleState,
} from './lifecycle.messages';
import { governanceWorkflowId, serviceEndsSignal } from './governance.messages';
import { notices } from './notify';
import { signalIfRunning } from './signal-if-running';
import { EngagementIdKey, StageKey, VendorIdKey } from './search-attributes';
import { transitionWorkflowId } from './transition.messages';
import type { transition } from './transition';

// Every activity here is a few queries; a short timeout lets another worker retry soon after one dies mid-call.
const db = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
/** Waits as long as a transition may run; a worker that dies mid-wait stops heartbeating and another takes over. */
const waiting = proxyActivities<Activities>({
  startToCloseTimeout: '400 days',
  heartbeatTimeout: '1 minute',
  cancellationType: ActivityCancellationType.TRY_CANCEL,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const DAY_MS = 86_400_000;
/**
 * The lifecycle's own BpoStage reads TRANSITION while its transition runs (the Web UI's `BpoStage = "TRANSITION"`
 * lists it); runs from before this patch kept CONTRACTED there until steady state.
 */
const STAGE_ATTRIBUTE_IN_TRANSITION_PATCH = 'lifecycle-stage-attribute-in-transition';

/** Patch id: a renewed term as long on the calendar as the last one (nextTerm). */
const CALENDAR_TERM_PATCH = 'renewal-term-on-the-calendar';
/** Patch id: a transition already started on its own is waited for, not started again. */
const ADOPT_STANDALONE_TRANSITION_PATCH = 'lifecycle-adopts-a-standalone-transition';
/**
 * Patch id: a transition started on its own is waited for by asking how it stands (a short activity) once a day and
 * on its signal that it ended, not inside an activity that lasts as long as the transition (before it: `awaitTransition`,
 * which held one of the worker's activity slots throughout; enough such waits would take every slot, the
 * transitions' own gate activities included).
 */
const AWAIT_STANDALONE_TRANSITION_BY_SIGNAL_PATCH = 'standalone-transition-awaited-without-an-activity';
/** Patch id: a termination for cause before the term starts cancels a transition started on its own. */
const TERMINATION_BEFORE_TERM_STOPS_TRANSITION_PATCH = 'termination-before-term-stops-a-standalone-transition';
/**
 * Patch id: an escalation the lifecycle raised (a renewal decision not made, an exit step overdue) is resolved by it
 * once the decision is recorded or the step completed. Before it they climbed and reminded the council for good.
 */
const SETTLE_OWN_ESCALATIONS_PATCH = 'lifecycle-settles-its-escalations';
/** Patch id: a termination for cause resolves the council's escalation of a renewal decision it leaves unmade. */
const TERMINATION_SETTLES_COUNCIL_ESCALATION_PATCH = 'termination-settles-the-council-escalation';
/** How often a lifecycle waiting for a transition started on its own asks how it stands, besides its signal. */
const STANDALONE_TRANSITION_CHECK = '1 day';
/** Patch id: a renewal decided ahead of the deadline opens the next term when this one ends (before: at once). */
const NEXT_TERM_AT_TERM_END_PATCH = 'renewal-opens-the-next-term-at-term-end';
/** Patch id: a transition cancelled by a termination for cause leaves no phase ACTIVE or PENDING in the database. */
const CANCELLED_TRANSITION_PHASES_PATCH = 'cancelled-transition-phases-recorded';
/**
 * Patch id: a transition planned to end before the renewal is due to be evaluated, and still running then, is
 * escalated then, and the escalation resolved when it ends. Before it the overrun went unsaid: the evaluation simply
 * came later, in a narrower window.
 */
const TRANSITION_OVERRUN_PATCH = 'transition-overrunning-the-renewal-evaluation-escalated';
/**
 * Patch id: the executive is alerted 120, 90, 60 and 30 days before the notice deadline while no decision is made
 * (`renewalAlerts`; the one on the evaluation's day is its notice, and one due before the term begins goes then).
 * Before it the evaluation's notice was the only one: a contract could renew on its auto-renew clause with one
 * reminder.
 */
export const RENEWAL_ALERTS_PATCH = 'renewal-alerts-ahead-of-the-notice-deadline';
/**
 * Patch id: an exit tells governance when the service ends (`serviceEndsSignal`): at the exit date, or when every exit
 * step is done, if that comes first (the client's own steps end the service). Governance reviews the service's
 * periods to the last one within it and ends, and only then does the engagement close: KPI data for those periods is
 * still accepted while their reviews are due. Before it governance was stopped the moment the last step was done:
 * a period whose grace for late data had not passed went unreviewed, and steps done after the exit date had months
 * after the service reviewed (as missing data).
 */
export const GOVERNANCE_TO_THE_SERVICE_END_PATCH = 'exit-tells-governance-when-the-service-ends';
/**
 * Patch id: exit steps are due by the end of a day in the engagement's zone (`dueByEndOfDay`), stored as that day.
 * Before it a step was due at the instant the plan spread it to and stored as that instant's UTC date, so outside UTC
 * it could be escalated as overdue before the day shown as its due date had ended (or be shown a day early).
 */
export const EXIT_STEPS_DUE_ON_LOCAL_DAYS_PATCH = 'exit-steps-due-by-the-end-of-a-local-day';
/**
 * Patch id: closing, the lifecycle resolves the engagement's escalations still open (`resolveOpenEscalations`).
 * Before it they went on climbing, reminding the council every day about a vendor that had left.
 */
export const CLOSING_RESOLVES_OPEN_ESCALATIONS_PATCH = 'closing-resolves-open-escalations';
/** How long past the service's end and governance's grace a closing lifecycle waits for governance to end, at most. */
const LAST_REVIEWS_MARGIN_MS = 2 * DAY_MS;
/** The API's default `reviewGrace` (3d), for runs started before the grace was part of the input. */
const API_REVIEW_GRACE_MS = 3 * DAY_MS;

/**
 * One per engagement, for its whole life: waits for the term to start, runs the transition, starts governance,
 * evaluates renewal on a timer ahead of the notice deadline, takes the executive's decision (or the contract's
 * default), then opens the next term when this one ends (continue-as-new) or runs the exit plan to closure. Termination for cause
 * jumps to the exit from any stage.
 */
export async function engagementLifecycle(input: LifecycleInput): Promise<LifecycleState> {
  const outbox = notices(db.notify, input.notices);
  const state: LifecycleState = input.resume ?? {
    engagementId: input.engagementId,
    stage: 'CONTRACTED',
    term: 1,
    termStart: input.termStart,
    termEnd: input.termEnd,
    milestones: renewalMilestones(input.termEnd, input.renewalNoticeDays, input.evaluationLeadDays, input.timeZone),
  };
  let exitStepsChanged = 0;
  /** A renewal is decided and the current term still runs: termination for cause is still possible. */
  let awaitingTermEnd = false;
  /** The exit is being set up or running: a termination for cause can no longer change it. */
  let exiting = false;
  /** Exit steps whose completion is being recorded. */
  const completing = new Set<string>();
  const now = () => new Date(Date.now()).toISOString();
  const illegal = (message: string) => ApplicationFailure.nonRetryable(message, 'IllegalLifecycleRequest');
  const terminated = () => state.terminated !== undefined;
  /** A transition started on its own signalled that it completed. */
  let transitionEnded = false;
  /** Sleeps until `iso`, waking early on termination for cause (or `also`). */
  const waitUntil = (iso: string, also: () => boolean = () => false) =>
    condition(() => terminated() || also(), msUntil(iso, Date.now()));

  setHandler(lifecycleStateQuery, () => state);
  setHandler(transitionEndedSignal, () => void (transitionEnded = true));
  /** Governance, told that the service ends, reviewed its last periods and ended. */
  let governanceEnded = false;
  setHandler(governanceEndedSignal, () => void (governanceEnded = true));
  setHandler(
    decideRenewalUpdate,
    async ({ actor, decision, reason, newMonthlyFee }) => {
      state.renewal!.decision = decision;
      state.renewal!.decidedBy = actor;
      state.renewal!.via = 'executive';
      state.renewal!.reason = reason;
      state.renewal!.newMonthlyFee = newMonthlyFee;
      return state;
    },
    {
      validator: ({ actor, decision, newMonthlyFee }) => {
        if (!actor) throw illegal('actor is required');
        if (!['RENEW', 'RENEGOTIATE', 'EXIT'].includes(decision))
          throw illegal('decision must be RENEW, RENEGOTIATE or EXIT');
        // A repeated decision hears that it was taken, also once the workflow has moved on to the exit.
        if (state.renewal?.decision) throw illegal(`the renewal was already decided: ${state.renewal.decision}`);
        if (state.stage !== 'RENEWAL' || !state.renewal) throw illegal('no renewal decision is pending');
        // Terminated for cause while the exit is being set up: accepted, the decision would be shown and never kept.
        if (state.terminated) throw illegal('the engagement is being terminated for cause: no renewal is pending');
        // A decision that reaches the workflow with the deadline's timer (its workers were down) is late: the
        // contract has decided.
        if (Date.now() >= Date.parse(state.milestones.noticeDeadline))
          throw illegal(`the notice deadline ${state.milestones.noticeDeadline} has passed: the contract decides`);
        if (newMonthlyFee !== undefined && decision !== 'RENEGOTIATE')
          throw illegal('only a renegotiation changes the fee');
      },
    },
  );
  setHandler(
    completeExitStepUpdate,
    async ({ actor, kind, evidence }) => {
      const step = state.exit!.steps.find((s) => s.kind === kind)!;
      completing.add(kind);
      try {
        await db.completeExitStep({ engagementId: state.engagementId, kind, completedBy: actor, evidence, at: now() });
      } finally {
        completing.delete(kind);
      }
      step.completedAt = now();
      step.completedBy = actor;
      exitStepsChanged++;
      return state;
    },
    {
      validator: ({ actor, kind, evidence }) => {
        if (!actor) throw illegal('actor is required');
        if (state.stage !== 'EXIT' || !state.exit) throw illegal('the engagement is not exiting');
        const step = state.exit.steps.find((s) => s.kind === kind);
        if (!step) throw illegal(`exit step must be one of ${EXIT_STEP_KINDS.join(', ')}`);
        if (step.completedAt) throw illegal(`exit step ${kind} is already complete`);
        // Another completion of it is being recorded: the first one stands (as it does in the database).
        if (completing.has(kind)) throw illegal(`exit step ${kind} is already being completed`);
        // (Validators do not run on replay: a step completed without evidence before this check still replays.)
        const missing = missingExitEvidence(kind, evidence);
        if (missing) throw illegal(`evidence ${missing}`);
        // The client's own steps (revoking access, the final reconciliation) end the service: a vendor cannot
        // close the engagement by marking them done.
        if (actor.startsWith('vendor:') && !vendorOwned(step))
          throw illegal(`exit step ${kind} is the client's (${step.owner}): a program manager completes it`);
      },
    },
  );
  setHandler(
    terminateForCauseUpdate,
    async ({ actor, reason }) => {
      state.terminated = { reason, by: actor, at: now() };
      await condition(() => state.stage === 'EXIT' || state.stage === 'CLOSED');
      return state;
    },
    {
      validator: ({ actor, reason }) => {
        if (!actor) throw illegal('actor is required');
        if (typeof reason !== 'string' || reason.trim().length < 3)
          throw illegal('a reason is required to terminate for cause');
        if (state.terminated || exiting || state.stage === 'EXIT' || state.stage === 'CLOSED')
          throw illegal(
            state.stage === 'CLOSED' ? 'the engagement is already closed' : 'the engagement is already exiting',
          );
        // The decision is being recorded, or the next term opened (then the workflow continues as new); while the
        // current term runs out after a decision, a termination still ends it. An exit decision leads to the exit.
        const decided = state.renewal?.decision;
        if (decided && decided !== 'EXIT' && !awaitingTermEnd)
          throw illegal(`the renewal decision (${decided}) is being carried out: try again in a moment`);
      },
    },
  );

  /** Resolves the council's escalation for this term's renewal decision, if one was raised. */
  const settleCouncilEscalation = (resolution: string) =>
    db.settleEscalation({
      engagementId: state.engagementId,
      key: lifecycleEscalationKeys.council(state.termEnd),
      resolution,
    });

  const raiseTransitionOverrun = () =>
    db.raiseEscalation({
      engagementId: state.engagementId,
      severity: 'P2',
      category: 'transition-overrun',
      title: `Transition still running when the renewal is due to be evaluated (${state.milestones.evaluationAt.slice(0, 10)})`,
      description:
        `The renewal is evaluated once the transition ends. The decision is due before ` +
        `${state.milestones.noticeDeadline.slice(0, 10)}; without one the contract applies ` +
        `${input.autoRenew ? 'its auto-renew clause' : `its default (${input.defaultDecision})`}.`,
      raisedBy: 'workflow:lifecycle',
      raisedAt: now(),
      key: lifecycleEscalationKeys.transitionOverrun(state.termEnd),
    });

  /**
   * The term's renewal alerts still ahead, each sent unless the renewal is decided, the engagement terminated or
   * exiting by then. Runs beside the lifecycle's own steps: its timers never hold them up.
   */
  const alertAheadOfTheDeadline = async () => {
    const { noticeDeadline, evaluationAt } = state.milestones;
    const settled = () => exiting || state.renewal?.decision !== undefined;
    const deadline = noticeDeadline.slice(0, 10);
    const without = input.autoRenew
      ? 'the contract renews by its auto-renew clause'
      : `the contract applies its default (${input.defaultDecision})`;
    for (const alert of renewalAlerts(
      state.termEnd,
      input.renewalNoticeDays,
      input.evaluationLeadDays,
      input.timeZone,
    )) {
      // (A run started late, or a renewed term, has no alert for a date already past.)
      if (Date.parse(alert.at) <= Date.now()) continue;
      if ((await waitUntil(alert.at, settled)) || settled()) return;
      const evaluated = state.renewal !== undefined;
      await outbox.send({
        eventKey: `renewal/${state.engagementId}/${state.termEnd}/alert-${alert.daysBefore}d`,
        engagementId: state.engagementId,
        recipient: { role: 'executive sponsor' },
        subject: evaluated
          ? `Renewal decision pending: the notice deadline ${deadline} is ${alert.daysBefore} days away`
          : `Renewal notice deadline ${deadline} is ${alert.daysBefore} days away`,
        body: evaluated
          ? `Recommended ${state.renewal!.recommendation}. Without a decision before ${deadline}, ${without}.`
          : `The term ends ${state.termEnd.slice(0, 10)}; its evaluation is due ${evaluationAt.slice(0, 10)}. ` +
            `Without a decision before ${deadline}, ${without}.`,
      });
    }
  };

  const moveTo = async (stage: LifecycleStage) => {
    await db.moveEngagementStage({ engagementId: state.engagementId, to: stage, at: now() });
    state.stage = stage;
    upsertSearchAttributes([{ key: StageKey, value: stage }]);
  };

  /** Runs the exit plan to closure: escalates overdue steps, settles what their completion answers, then closes. */
  const runExit = async (): Promise<LifecycleState> => {
    // Governance reviews the service to its end, and then ends (a governance not running fails the signal: it is
    // stopped at closure as before, should it start meanwhile).
    const tellGovernance = (serviceEndsAt: string) =>
      signalIfRunning(governanceWorkflowId(state.engagementId), serviceEndsSignal, serviceEndsAt);
    const governanceTold = patched(GOVERNANCE_TO_THE_SERVICE_END_PATCH) && (await tellGovernance(state.exit!.exitAt));
    for (;;) {
      const settled = state.exit!.steps.filter((s) => s.completedAt && s.escalated && !s.escalationSettled);
      if (settled.length && patched(SETTLE_OWN_ESCALATIONS_PATCH)) {
        for (const step of settled) {
          await db.settleEscalation({
            engagementId: state.engagementId,
            key: lifecycleEscalationKeys.overdueStep(step.kind),
            resolution: `exit step ${step.kind} completed by ${step.completedBy}`,
          });
          step.escalationSettled = true;
        }
      }
      const open = state.exit!.steps.filter((s) => !s.completedAt);
      if (open.length === 0) break;
      const watched = open.filter((s) => !s.escalated).sort((a, b) => a.dueOn.localeCompare(b.dueOn));
      const seen = exitStepsChanged;
      if (watched.length === 0) {
        await condition(() => exitStepsChanged !== seen);
        continue;
      }
      const next = watched[0];
      if (await condition(() => exitStepsChanged !== seen, msUntil(next.dueOn, Date.now()))) continue;
      next.escalated = true;
      await db.raiseEscalation({
        engagementId: state.engagementId,
        severity: 'P2',
        category: 'exit-step',
        title: `Exit step ${next.kind} is overdue`,
        // (Its day in the engagement's zone, as the plan shows it.)
        description: `${next.kind} (owner: ${next.owner}) was due ${input.timeZone ? dueDay(next.dueOn, input.timeZone) : next.dueOn.slice(0, 10)}.`,
        raisedBy: 'workflow:lifecycle',
        raisedAt: now(),
        key: lifecycleEscalationKeys.overdueStep(next.kind),
      });
    }
    let governanceDone = false;
    if (governanceTold) {
      // Every step done before the exit date: the service ended now.
      const endedAt = Date.now() < Date.parse(state.exit!.exitAt) ? now() : state.exit!.exitAt;
      if (endedAt !== state.exit!.exitAt) await tellGovernance(endedAt);
      const graceMs = input.reviewGraceSeconds === undefined ? API_REVIEW_GRACE_MS : input.reviewGraceSeconds * 1000;
      governanceDone = await condition(
        () => governanceEnded,
        msUntil(endedAt, Date.now()) + graceMs + LAST_REVIEWS_MARGIN_MS,
      );
    }
    await db.completeExitPlan({ engagementId: state.engagementId, at: now() });
    if (!governanceDone) await db.stopGovernance({ engagementId: state.engagementId });
    // What is still open (a breach found by the last reviews) closes with the engagement instead of climbing on.
    if (patched(CLOSING_RESOLVES_OPEN_ESCALATIONS_PATCH))
      await db.resolveOpenEscalations({
        engagementId: state.engagementId,
        resolution: `engagement closed on ${now().slice(0, 10)}: the vendor has left, no further action`,
      });
    await moveTo('CLOSED');
    await outbox.settled();
    await condition(allHandlersFinished);
    return state;
  };

  // Started again while the engagement was exiting (its run before was stopped): the stored exit plan is taken up
  // where it stands, its completed steps kept. (Only such a start carries `exit`.)
  if (input.exit) {
    exiting = true;
    state.exit = input.exit;
    state.stage = 'EXIT';
    upsertSearchAttributes([
      { key: EngagementIdKey, value: input.engagementId },
      { key: VendorIdKey, value: input.vendorId },
    ]);
    // (The run before may have stopped between storing the plan and moving the stage, or before it answered the
    // council's escalation that a termination leaves without a renewal decision.)
    await moveTo('EXIT');
    if (input.exit.forCause) await settleCouncilEscalation(`no renewal: ${input.exit.reason}`);
    return runExit();
  }

  if (patched(RENEWAL_ALERTS_PATCH)) {
    // Only a cancellation of the whole workflow ends it early: its notices are sent without waiting for them.
    alertAheadOfTheDeadline().catch((error: unknown) => {
      if (!isCancellation(error)) log.error('renewal alerts stopped', { error });
    });
  }

  if (!input.resume) {
    upsertSearchAttributes([
      { key: EngagementIdKey, value: input.engagementId },
      { key: VendorIdKey, value: input.vendorId },
      { key: StageKey, value: state.stage },
    ]);
    await waitUntil(state.termStart);
    // Terminated for cause before the term began: a transition started on its own (it may start before the term)
    // is stopped as the lifecycle's own would be. Before this patch it ramped on, and moved the stage at its end.
    if (terminated() && patched(TERMINATION_BEFORE_TERM_STOPS_TRANSITION_PATCH))
      await cancelStandaloneTransition(input.engagementId);
    if (!terminated() && input.transitionPlan) {
      state.stage = 'TRANSITION';
      if (patched(STAGE_ATTRIBUTE_IN_TRANSITION_PATCH))
        upsertSearchAttributes([{ key: StageKey, value: 'TRANSITION' }]);
      // The renewal clock does not wait for the transition: one planned to end before the renewal is due to be
      // evaluated, and still running then, narrows the window for the decision (it is evaluated after the
      // transition), and people hear it then. (A plan known to end later was accepted as such at the start.)
      let transitionOver = false;
      const plannedEnd = Date.now() + minimumSeconds(input.transitionPlan) * 1000;
      const overrun =
        patched(TRANSITION_OVERRUN_PATCH) && Date.parse(state.milestones.evaluationAt) > plannedEnd
          ? waitUntil(state.milestones.evaluationAt, () => transitionOver).then((over) =>
              over ? false : raiseTransitionOverrun().then(() => true),
            )
          : Promise.resolve(false);
      // (Awaited only once the transition has ended: a cancellation of the whole workflow meanwhile is not left
      // unhandled.)
      overrun.catch(() => undefined);
      try {
        await runTransition(input, terminated, () => transitionEnded);
      } finally {
        transitionOver = true;
      }
      if (await overrun) {
        await db.settleEscalation({
          engagementId: state.engagementId,
          key: lifecycleEscalationKeys.transitionOverrun(state.termEnd),
          resolution: terminated()
            ? 'the engagement is terminated for cause'
            : `the transition ended on ${now().slice(0, 10)}: the renewal is evaluated now`,
        });
      }
    }
    if (!terminated()) {
      await moveTo('STEADY_STATE');
      await db.startGovernance({ engagementId: state.engagementId, startAt: now() });
    }
  }

  if (!terminated()) {
    // Renewal evaluation starts on its own timer, ahead of the notice deadline.
    await waitUntil(state.milestones.evaluationAt);
  }
  if (!terminated()) {
    await moveTo('RENEWAL');
    const evaluation = await db.evaluateRenewal({
      engagementId: state.engagementId,
      termStart: state.termStart,
      termEnd: state.termEnd,
    });
    state.renewal = { recommendation: evaluation.recommendation, reasons: evaluation.reasons };
    // A decision recorded by a run stopped since (an operator terminated it, or it failed) stands: this run carries it
    // out instead of asking again, and applying the contract's default if the deadline has passed meanwhile. (Only a
    // run whose evaluation found a recorded decision takes this branch, so earlier histories replay unchanged.)
    const restored = evaluation.decided !== undefined;
    if (restored) Object.assign(state.renewal, evaluation.decided);
    await outbox.send({
      eventKey: `renewal/${state.engagementId}/${state.termEnd}/evaluated`,
      engagementId: state.engagementId,
      recipient: { role: 'executive sponsor' },
      subject: `Renewal decision due before ${state.milestones.noticeDeadline.slice(0, 10)}: recommended ${evaluation.recommendation}`,
      body: evaluation.reasons.join('; '),
    });
    const decided = () => state.renewal?.decision !== undefined;
    // With an auto-renew clause the contract decides; otherwise the council is asked before the deadline.
    if (input.autoRenew) await waitUntil(state.milestones.noticeDeadline, decided);
    else if (!(await waitUntil(state.milestones.councilEscalationAt, decided))) {
      state.renewal.councilEscalated = true;
      await db.raiseEscalation({
        engagementId: state.engagementId,
        severity: 'P2',
        category: 'renewal-decision',
        title: `Renewal decision due before ${state.milestones.noticeDeadline.slice(0, 10)} is not made`,
        description: `Recommended ${evaluation.recommendation}. Without a decision the contract applies ${input.autoRenew ? 'its auto-renew clause' : `its default (${input.defaultDecision})`}.`,
        raisedBy: 'workflow:lifecycle',
        raisedAt: now(),
        key: lifecycleEscalationKeys.council(state.termEnd),
      });
      await waitUntil(state.milestones.noticeDeadline, decided);
    }
    if (!terminated()) {
      if (!decided()) {
        state.renewal.decision = input.autoRenew ? 'RENEW' : input.defaultDecision;
        state.renewal.decidedBy = 'contract';
        state.renewal.via = input.autoRenew ? 'auto-renew clause' : 'contract default';
      }
      await db.recordRenewalDecision({
        engagementId: state.engagementId,
        termEnd: state.termEnd,
        decision: state.renewal.decision!,
        decidedBy: state.renewal.decidedBy!,
        via: state.renewal.via!,
        reason: state.renewal.reason,
        ...(state.renewal.newMonthlyFee !== undefined && { newMonthlyFee: state.renewal.newMonthlyFee }),
        at: now(),
      });
      // (A restored decision's run may have stopped before it settled the council's escalation.)
      if ((state.renewal.councilEscalated || restored) && patched(SETTLE_OWN_ESCALATIONS_PATCH)) {
        await settleCouncilEscalation(`renewal decided: ${state.renewal.decision} (${state.renewal.via})`);
      }
      if (state.renewal.decision !== 'EXIT') {
        // Decided now, in effect from the end of this term: until then its fee and dates stand and governance goes on.
        if (patched(NEXT_TERM_AT_TERM_END_PATCH)) {
          state.renewal.newTermOpensAt = state.termEnd;
          awaitingTermEnd = true;
          await waitUntil(state.termEnd);
          awaitingTermEnd = false;
        }
        if (!terminated()) return renewTerm(input, state, state.renewal.decision!, outbox.unsent());
      }
    }
  }

  // Exit: at the end of the term, or now for cause. Set up from here on, it is the exit: a termination sent while
  // its plan is stored would be accepted and then not be for cause.
  exiting = true;
  const forCause = terminated();
  const exitAt = forCause ? new Date(Date.now() + 30 * DAY_MS).toISOString() : state.termEnd;
  const reason = forCause
    ? `terminated for cause: ${state.terminated!.reason}`
    : `renewal decision: EXIT (${state.renewal?.via})`;
  const inZone = patched(EXIT_STEPS_DUE_ON_LOCAL_DAYS_PATCH);
  const steps = exitPlan(Date.now(), Date.parse(exitAt), inZone ? input.timeZone : undefined);
  await db.createExitPlan({
    engagementId: state.engagementId,
    reason,
    forCause,
    steps,
    ...(inZone && { timeZone: input.timeZone }),
    at: now(),
    actor: forCause ? state.terminated!.by : (state.renewal?.decidedBy ?? 'contract'),
  });
  state.exit = { reason, forCause, exitAt, steps: steps.map((s) => ({ ...s })) };
  await moveTo('EXIT');
  // No renewal decision will come: the council's escalation asking for one is answered by the termination.
  if (
    forCause &&
    state.renewal?.councilEscalated &&
    !state.renewal.decision &&
    patched(TERMINATION_SETTLES_COUNCIL_ESCALATION_PATCH)
  ) {
    await settleCouncilEscalation(`no renewal: ${reason}`);
  }

  return runExit();
}

/**
 * The transition as a child workflow, cancelled (timers and all) if the engagement is terminated for cause. A
 * transition already started on its own under the same id (POST /engagements/:id/transition), running or finished,
 * is not started again: the lifecycle waits for it instead (since this patch; before it, the lifecycle failed, or
 * ran a finished transition a second time).
 */
async function runTransition(
  input: LifecycleInput,
  terminated: () => boolean,
  signalledEnd: () => boolean,
): Promise<void> {
  const adopt = patched(ADOPT_STANDALONE_TRANSITION_PATCH);
  const scope = new CancellationScope();
  const child = scope.run(() =>
    executeChild<typeof transition>('transition', {
      workflowId: transitionWorkflowId(input.engagementId),
      args: [{ engagementId: input.engagementId, vendorId: input.vendorId, plan: input.transitionPlan! }],
      // A completed transition is not run again; one that failed or was terminated (a lifecycle restarted after
      // its first run was stopped) runs again.
      ...(adopt && { workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY }),
    }),
  );
  const outcome = await Promise.race([
    child.then(
      () => 'done' as const,
      (error: unknown) => {
        if (adopt && error instanceof WorkflowExecutionAlreadyStartedError) return 'started on its own' as const;
        throw error;
      },
    ),
    condition(terminated).then(() => 'terminated' as const),
  ]);
  if (outcome === 'started on its own') {
    if (patched(AWAIT_STANDALONE_TRANSITION_BY_SIGNAL_PATCH))
      return watchStandaloneTransition(input.engagementId, terminated, signalledEnd);
    return awaitStandaloneTransition(input.engagementId, terminated);
  }
  if (outcome === 'terminated') {
    await cancelAndSettle(scope, child);
    await recordCancelledPhases(input.engagementId);
  }
}

async function recordCancelledPhases(engagementId: string): Promise<void> {
  if (patched(CANCELLED_TRANSITION_PHASES_PATCH)) await db.cancelOpenPhases({ engagementId });
}

/** Cancels what runs in `scope` (a termination for cause) and waits until `work` has stopped. */
async function cancelAndSettle(scope: CancellationScope, work: Promise<unknown>): Promise<void> {
  scope.cancel();
  await work.catch((error: unknown) => {
    if (!isCancellation(error)) throw error;
  });
}

/** Runs from before AWAIT_STANDALONE_TRANSITION_BY_SIGNAL_PATCH: the wait is one long activity. */
async function awaitStandaloneTransition(engagementId: string, terminated: () => boolean): Promise<void> {
  const scope = new CancellationScope();
  const waited = scope.run(() => waiting.awaitTransition({ engagementId }));
  const outcome = await Promise.race([waited, condition(terminated).then(() => 'terminated' as const)]);
  if (outcome === 'terminated') {
    await cancelAndSettle(scope, waited);
    return cancelStandaloneTransition(engagementId);
  }
  requireCompleted(outcome);
}

/**
 * Waits for a transition started on its own without holding an activity: asks how it stands, then sleeps until it
 * signals its end, the engagement is terminated for cause, or a day has passed (a transition terminated or failed
 * sends no signal), and asks again.
 */
async function watchStandaloneTransition(
  engagementId: string,
  terminated: () => boolean,
  signalledEnd: () => boolean,
): Promise<void> {
  for (;;) {
    const status = signalledEnd() ? 'COMPLETED' : await db.transitionStatus({ engagementId });
    if (status !== 'RUNNING') return requireCompleted(status);
    await condition(() => signalledEnd() || terminated(), STANDALONE_TRANSITION_CHECK);
    if (terminated() && !signalledEnd()) return cancelStandaloneTransition(engagementId);
  }
}

async function cancelStandaloneTransition(engagementId: string): Promise<void> {
  await db.cancelTransition({ engagementId });
  await recordCancelledPhases(engagementId);
}

function requireCompleted(status: string): void {
  if (status !== 'COMPLETED') {
    throw ApplicationFailure.nonRetryable(
      `the engagement's transition, started on its own, ended ${status}: the lifecycle cannot go on to steady state`,
      'TransitionNotCompleted',
    );
  }
}

/** Opens the next term and continues as new, carrying only what the next term needs. */
async function renewTerm(
  input: LifecycleInput,
  state: LifecycleState,
  decision: RenewalDecisionKind,
  unsent: LifecycleInput['notices'],
): Promise<never> {
  // Renewals opened before this patch kept the last term's length in milliseconds (a leap day moved the end).
  const { termStart, termEnd } = patched(CALENDAR_TERM_PATCH)
    ? nextTerm(state.termStart, state.termEnd)
    : {
        termStart: state.termEnd,
        termEnd: new Date(2 * Date.parse(state.termEnd) - Date.parse(state.termStart)).toISOString(),
      };
  await db.openNewTerm({
    engagementId: state.engagementId,
    termStart,
    termEnd,
    monthlyFee: state.renewal?.newMonthlyFee,
    actor: `renewal:${decision.toLowerCase()}`,
  });
  await db.moveEngagementStage({ engagementId: state.engagementId, to: 'STEADY_STATE' });
  upsertSearchAttributes([{ key: StageKey, value: 'STEADY_STATE' }]);
  await condition(allHandlersFinished);
  return continueAsNew<typeof engagementLifecycle>({
    ...input,
    termStart,
    termEnd,
    transitionPlan: null,
    notices: unsent,
    resume: {
      engagementId: state.engagementId,
      stage: 'STEADY_STATE',
      term: state.term + 1,
      termStart,
      termEnd,
      milestones: renewalMilestones(termEnd, input.renewalNoticeDays, input.evaluationLeadDays, input.timeZone),
    },
  });
}
