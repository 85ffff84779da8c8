import {
  ActivityCancellationType,
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { createEngagementActivities } from '../activities/engagements';
import type { createEscalationActivities } from '../activities/escalations';
import type { createTransitionActivities, StoredProgress } from '../activities/transition';
import { lifecycleWorkflowId } from '../src/domain/lifecycle';
import { planProblems, type PhasePlan } from '../src/domain/transition';
import { transitionEndedSignal } from './lifecycle.messages';
import { EngagementIdKey, PhaseKey, StageKey, VendorIdKey, VolumePctKey } from './search-attributes';
import { localFirst, localFirstOptions } from './local-first';
import { signalIfRunning } from './signal-if-running';
import {
  approveGateUpdate,
  changePlanUpdate,
  overrideGateUpdate,
  pauseUpdate,
  resumeUpdate,
  transitionStateQuery,
  type GateRecord,
  type PhaseState,
  type TransitionInput,
  type TransitionState,
} from './transition.messages';

type Activities = ReturnType<typeof createTransitionActivities> &
  ReturnType<typeof createEngagementActivities> &
  ReturnType<typeof createEscalationActivities>;

const activityOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  // No attempt limit: a database outage delays the transition, it never fails it.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};
/**
 * Patch id: a cancelled transition (a termination for cause) ends only once the activity it was running has
 * finished, so that activity's write (a phase started, a stage moved) cannot land after the transition is over and
 * its open phases are cancelled. Before it, it ended at once and the write could come after.
 */
const CANCELLED_WAITS_FOR_ITS_ACTIVITY_PATCH = 'cancelled-transition-waits-for-its-activity';
const leavingActivities = proxyActivities<Activities>(activityOptions);
const waitingActivities = proxyActivities<Activities>({
  ...activityOptions,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
/** The activities, scheduled so that a cancellation waits for the one running (since the patch, asked per call). */
const db = new Proxy(leavingActivities, {
  get: (_, name: keyof Activities) =>
    (patched(CANCELLED_WAITS_FOR_ITS_ACTIVITY_PATCH) ? waitingActivities : leavingActivities)[name],
});

/**
 * Patch id: reading the stored progress, moving the stage and starting a phase run as local activities (the regular
 * ones once a local one gives up, `localFirst`): a transition's start took three activity round trips through the
 * server, each a workflow task of its own, and now takes one workflow task. A cancellation still waits for the one
 * running.
 */
export const TRANSITION_STEPS_AS_LOCAL_ACTIVITIES_PATCH = 'transition-steps-as-local-activities';
const local = proxyLocalActivities<Activities>({
  ...localFirstOptions('10 seconds'),
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
// The regular side goes through `db` at call time: the proxy asks a patch, which only a running workflow can.
type Input<K extends keyof Activities> = Parameters<Activities[K]>[0];
const storedProgress = localFirst(
  TRANSITION_STEPS_AS_LOCAL_ACTIVITIES_PATCH,
  local.storedProgress,
  (input: Input<'storedProgress'>) => db.storedProgress(input),
);
const moveEngagementStage = localFirst(
  TRANSITION_STEPS_AS_LOCAL_ACTIVITIES_PATCH,
  local.moveEngagementStage,
  (input: Input<'moveEngagementStage'>) => db.moveEngagementStage(input),
);
const startPhase = localFirst(
  TRANSITION_STEPS_AS_LOCAL_ACTIVITIES_PATCH,
  local.startPhase,
  (input: Input<'startPhase'>) => db.startPhase(input),
);

/** Patch id: a pause accepted while a gate is judged holds the next phase until resumed. */
const PAUSE_HOLDS_THE_RAMP_PATCH = 'transition-pause-holds-the-ramp';
/** Patch id: a first wave whose gate escalates rolls volume back to none (before: it had no wave to go back to). */
const FIRST_WAVE_ROLLS_BACK_PATCH = 'transition-first-wave-rolls-back-to-none';
/**
 * Patch id: an approval that arrived while the gate was being judged is refused when the gate fails (before: it
 * passed the held phase on the next turn, with no reason on record).
 */
const FAILED_GATE_REFUSES_APPROVAL_PATCH = 'transition-failed-gate-refuses-early-approval';
/**
 * Patch id: an override accepted while a held gate was judged again is taken when that judgement fails, without
 * holding the phase again (before it, the failure counted, escalated and could roll the volume back first).
 */
const OVERRIDE_DURING_JUDGEMENT_PATCH = 'transition-override-during-judgement-skips-the-hold';

/**
 * A plan change stored while the last phase's gate passed adds phases that run; runs from before this patch finished
 * without them.
 */
const REPLAN_AT_THE_LAST_GATE_PATCH = 'transition-replan-at-the-last-gate-runs';

/**
 * A run started again after one failed or was terminated (a lifecycle restarted, a transition started again) resumes
 * where the stored phases stand: passed phases stay passed, the running one keeps its start, its gate its attempts and
 * failures, the vendor its volume. Runs from before this patch ran every phase again on the first run's rows (whose
 * stored gate results they were handed back). Its runs also key their pause, resume and plan-change audit entries by
 * the run, so a run started again does not find the first run's.
 */
export const RESUME_STORED_PROGRESS_PATCH = 'transition-resumes-stored-progress';
/** Patch id: a resumed run restores a pause that held the next wave (or the end), not only one in a running phase. */
const PAUSE_BEFORE_NEXT_WAVE_RESTORED_PATCH = 'transition-resume-restores-a-pause-before-the-next-wave';

/**
 * Patch id: an approval or override that arrives while a resumed run finishes a phase on its stored passed gate is
 * fulfilled by that pass. Before it, it held the transition open at the last phase, or passed the next phase's gate.
 */
const RESUMED_PASS_FULFILS_DECISION_PATCH = 'resumed-pass-fulfils-a-pending-decision';

/**
 * A transition started on its own tells the engagement's lifecycle, which may be waiting for it, that it has
 * completed (runs from before this patch did not: a lifecycle waited in an activity).
 */
export const ANNOUNCES_ITS_END_PATCH = 'standalone-transition-announces-its-end';

type Decision =
  | { kind: 'approved-early'; actor: string; note?: string; refused?: string }
  | { kind: 'overridden'; actor: string; note: string };

/**
 * The phased transition of one engagement: each phase runs at least its minimum duration (paused time does not
 * count), then its gate is judged from the phase's KPI data. A failed gate holds the phase and is judged again
 * after the hold period; repeated failures escalate and, if the plan says so, roll volume back one wave.
 * The program manager steers through updates: approve a gate early, override a held one, pause, resume, re-plan.
 */
export async function transition(input: TransitionInput): Promise<TransitionState> {
  const state = await phasedTransition(input).catch((error: unknown) => {
    // Cancelled while an activity ran, the transition waits for it (since the patch), and the activity may then fail
    // (a database error, its timeout) rather than stop: the transition was still cancelled, not failed, which is what
    // a lifecycle cancelling it for cause awaits.
    if (
      error instanceof ActivityFailure &&
      !isCancellation(error) &&
      CancellationScope.current().consideredCancelled &&
      patched(CANCELLED_WAITS_FOR_ITS_ACTIVITY_PATCH)
    )
      throw new CancelledFailure(
        'transition cancelled while an activity ran; the activity then failed',
        [],
        error as Error,
      );
    throw error;
  });
  if (!workflowInfo().parent && patched(ANNOUNCES_ITS_END_PATCH)) {
    // No lifecycle may be running: the signal then fails, and nobody was waiting.
    await signalIfRunning(lifecycleWorkflowId(input.engagementId), transitionEndedSignal);
    await condition(allHandlersFinished);
  }
  return state;
}

async function phasedTransition(input: TransitionInput): Promise<TransitionState> {
  const state: TransitionState = input.resume ?? initialState(input);
  const resumes = patched(RESUME_STORED_PROGRESS_PATCH);
  /** Audit keys of this run's steering, distinct from those of an earlier run of the same transition. */
  const auditKey = (action: string) =>
    resumes
      ? `${action}-${workflowInfo().firstExecutionRunId}-${state.history.length}`
      : `${action}-${state.history.length}`;
  let decision: Decision | undefined;
  /** A new plan is being stored: the ramp does not move on to a next phase until it is (the one it will be). */
  let replanning = false;

  const current = (): PhaseState | undefined => state.phases[state.currentIndex];
  /** The phase a steering action is recorded against: the current one, or the last once every phase is done. */
  const phaseName = () => (current() ?? state.phases[state.phases.length - 1]).name;
  const allPhasesDone = () => state.currentIndex >= state.phases.length;
  const now = () => new Date(Date.now()).toISOString();
  const gatePending = () =>
    state.status === 'RUNNING' && decision === undefined && ['ACTIVE', 'HELD'].includes(current()?.status ?? '');
  const illegal = (message: string) => ApplicationFailure.nonRetryable(message, 'IllegalTransitionRequest');
  const requireActor = (actor: unknown) => {
    if (typeof actor !== 'string' || actor.trim() === '') throw illegal('actor is required');
  };

  setHandler(transitionStateQuery, () => state);
  // Cancelled (a termination for cause): its state says so to the queries that follow, the closed run's too.
  CancellationScope.current().cancelRequested.catch(() => {
    state.status = 'CANCELLED';
    state.nextGateAt = null;
  });

  setHandler(
    approveGateUpdate,
    async ({ actor, note }) => {
      const approval: Decision = { kind: 'approved-early', actor, note };
      decision = approval;
      await condition(() => decision === undefined);
      if (approval.refused) throw illegal(approval.refused);
      return state;
    },
    {
      validator: ({ actor, phase }) => {
        requireActor(actor);
        if (state.status === 'PAUSED') throw illegal('the transition is paused: resume it first');
        if (phase !== undefined && phase !== current()?.name)
          throw illegal(`the current phase is ${current()?.name ?? 'none: every phase is done'}, not ${phase}`);
        if (!gatePending()) throw illegal('no gate is pending');
        // Passing a gate its KPIs failed takes a reason on record.
        if (current()?.status === 'HELD')
          throw illegal('the gate failed and holds the phase: override it, with a reason');
      },
    },
  );

  setHandler(
    overrideGateUpdate,
    async ({ actor, reason }) => {
      decision = { kind: 'overridden', actor, note: reason };
      await condition(() => decision === undefined);
      return state;
    },
    {
      validator: ({ actor, reason }) => {
        requireActor(actor);
        if (typeof reason !== 'string' || reason.trim().length < 3)
          throw illegal('a reason is required to override a gate');
        if (state.status === 'PAUSED') throw illegal('the transition is paused: resume it first');
        if (!gatePending() || current()?.status !== 'HELD')
          throw illegal('only a failed (held) gate can be overridden');
      },
    },
  );

  setHandler(
    pauseUpdate,
    async ({ actor, reason }) => {
      state.status = 'PAUSED';
      state.pausedAt = now();
      state.nextGateAt = null;
      const phase = phaseName();
      state.history.push({ phase, at: now(), kind: 'paused', by: actor, detail: reason });
      await db.auditTransitionAction({
        engagementId: state.engagementId,
        actor,
        action: 'pause',
        detail: { phase, reason: reason ?? null, ...(resumes && { at: state.pausedAt }) },
        key: auditKey('pause'),
      });
      return state;
    },
    {
      validator: ({ actor }) => {
        requireActor(actor);
        if (state.status !== 'RUNNING')
          throw illegal(`cannot pause a transition that is ${state.status.toLowerCase()}`);
        if (allPhasesDone()) throw illegal('every phase is complete: the transition is finishing');
        if (decision) throw illegal('a gate decision is being recorded');
      },
    },
  );

  setHandler(
    resumeUpdate,
    async ({ actor }) => {
      const pausedMs = state.pausedAt ? Date.now() - Date.parse(state.pausedAt) : 0;
      const phase = current();
      // Paused time does not count towards the phase's minimum duration or hold.
      if (phase?.dueAt) phase.dueAt = new Date(Date.parse(phase.dueAt) + pausedMs).toISOString();
      state.status = 'RUNNING';
      delete state.pausedAt;
      state.history.push({
        phase: phaseName(),
        at: now(),
        kind: 'resumed',
        by: actor,
        detail: `paused for ${Math.round(pausedMs / 1000)} s`,
      });
      await db.auditTransitionAction({
        engagementId: state.engagementId,
        actor,
        action: 'resume',
        detail: { phase: phaseName(), pausedSeconds: Math.round(pausedMs / 1000) },
        key: auditKey('resume'),
      });
      return state;
    },
    {
      validator: ({ actor }) => {
        requireActor(actor);
        if (state.status !== 'PAUSED') throw illegal('the transition is not paused');
      },
    },
  );

  setHandler(
    changePlanUpdate,
    async ({ actor, phases }) => {
      const keep = state.phases.slice(0, state.currentIndex + 1);
      const at = keep[keep.length - 1].sequence;
      replanning = true;
      try {
        await db.replacePlannedPhases({ engagementId: state.engagementId, afterSequence: at, phases });
      } finally {
        replanning = false;
      }
      state.phases = [...keep, ...phases.map((p, i) => ({ ...p, sequence: at + 1 + i, status: 'PENDING' as const }))];
      state.history.push({
        phase: phaseName(),
        at: now(),
        kind: 'plan-changed',
        by: actor,
        detail: phases.map((p) => p.name).join(', '),
      });
      await db.auditTransitionAction({
        engagementId: state.engagementId,
        actor,
        action: 'change-plan',
        detail: { remaining: phases },
        key: auditKey('change-plan'),
      });
      return state;
    },
    {
      validator: ({ actor, phases }) => {
        requireActor(actor);
        if (state.status === 'COMPLETED') throw illegal('the transition is complete');
        if (allPhasesDone()) throw illegal('every phase is complete: the transition is finishing');
        if (!Array.isArray(phases)) throw illegal('phases must be a list');
        // Two at once would each replace the phases the other stored.
        if (replanning) throw illegal('another plan change is being stored: send this one again once it is done');
        const problems = planProblems([...state.phases.slice(0, state.currentIndex + 1), ...phases] as PhasePlan[]);
        if (problems.length) throw illegal(`the new plan is not sound: ${problems.join('; ')}`);
      },
    },
  );

  /** Waits until the current phase's due time (pause-aware) or until a person decides its gate. */
  const waitForDue = async (phase: PhaseState) => {
    for (;;) {
      if (decision) return;
      if (state.status === 'PAUSED') {
        await condition(() => state.status !== 'PAUSED');
        continue;
      }
      const remaining = Date.parse(phase.dueAt!) - Date.now();
      state.nextGateAt = phase.dueAt!;
      if (remaining <= 0) return;
      await condition(() => decision !== undefined || state.status === 'PAUSED', remaining);
    }
  };

  const setVolume = (volumePct: number) => {
    state.volumePct = volumePct;
    upsertSearchAttributes([{ key: VolumePctKey, value: volumePct }]);
  };

  /**
   * A pause accepted while a gate was being judged holds the ramp before the next phase, and before the end. Runs
   * from before this patch went on past such a pause (their histories schedule the next phase's activities there).
   */
  const whilePaused = async () => {
    if (state.status === 'PAUSED' && patched(PAUSE_HOLDS_THE_RAMP_PATCH))
      await condition(() => state.status !== 'PAUSED');
  };

  if (!input.resume) {
    const stored = resumes ? await storedProgress({ engagementId: input.engagementId }) : undefined;
    // A termination for cause cancelled this transition (its phases say so): it is not run again.
    if (stored?.phases.some((p) => p.status === 'CANCELLED')) {
      state.status = 'CANCELLED';
      return state;
    }
    upsertSearchAttributes([
      { key: EngagementIdKey, value: input.engagementId },
      { key: VendorIdKey, value: input.vendorId },
      { key: StageKey, value: 'TRANSITION' },
    ]);
    await moveEngagementStage({ engagementId: input.engagementId, to: 'TRANSITION' });
    if (stored && resumeFrom(state, stored)) {
      upsertSearchAttributes([
        { key: VolumePctKey, value: state.volumePct },
        ...(current()?.startedAt ? [{ key: PhaseKey, value: current()!.name }] : []),
      ]);
      await carryOnResumedPhase();
    }
  }

  /**
   * What the earlier run stored for the phase it was in but did not get to act on: a gate that passed (judged, or a
   * person's approval or override) finishes the phase; failures enough to escalate escalate (and roll back), once,
   * as their keys make them.
   */
  async function carryOnResumedPhase() {
    const phase = current();
    if (!phase || !['ACTIVE', 'HELD'].includes(phase.status)) return;
    const last = state.gates.filter((g) => g.sequence === phase.sequence).at(-1);
    if (last?.passed) {
      await finishPhase(phase, last.decision === 'overridden' ? 'OVERRIDDEN' : 'PASSED');
      // An approval or override that arrived meanwhile is fulfilled by that pass, as in the loop below: it neither
      // waits for ever nor passes the next phase's gate (as it did before the patch).
      if (patched(RESUMED_PASS_FULFILS_DECISION_PATCH)) decision = undefined;
      state.currentIndex++;
    } else if (last && state.consecutiveFailures >= state.rules.maxConsecutiveFailures) {
      await escalate(phase, last.reasons);
    }
  }

  for (;;) {
    // A gate that passed while a new plan was being stored leads to the new plan's next phase, not the old one's,
    // also after the last phase (since the patch).
    if (state.currentIndex >= state.phases.length && !(replanning && patched(REPLAN_AT_THE_LAST_GATE_PATCH))) break;
    if (replanning) await condition(() => !replanning);
    if (state.currentIndex >= state.phases.length) break;
    const phase = current()!;
    if (phase.status === 'PENDING') {
      await whilePaused();
      const startedAt = now();
      const previousVolume = state.volumePct;
      await startPhase({
        engagementId: state.engagementId,
        sequence: phase.sequence,
        startedAt,
        volumeFrom: previousVolume,
        volumeTo: phase.volumePct,
      });
      phase.status = 'ACTIVE';
      phase.startedAt = startedAt;
      phase.dueAt = new Date(Date.now() + phase.minDurationSeconds * 1000).toISOString();
      setVolume(phase.volumePct);
      upsertSearchAttributes([{ key: PhaseKey, value: phase.name }]);
    }

    for (;;) {
      await waitForDue(phase);
      if (workflowInfo().continueAsNewSuggested && !decision) {
        // A gate decision's handler waits for this loop to take it: one that arrives now is taken before the new run.
        await condition(() => allHandlersFinished() || decision !== undefined);
        if (!decision) return continueAsNew<typeof transition>({ ...input, resume: state });
      }
      const attempt = state.gates.filter((g) => g.sequence === phase.sequence).length + 1;
      if (decision) {
        const made = decision;
        await db.recordGateDecision({
          engagementId: state.engagementId,
          sequence: phase.sequence,
          attempt,
          decision: made.kind,
          decidedBy: made.actor,
          note: made.note,
          evaluatedAt: now(),
        });
        state.gates.push(decisionRecord(phase, attempt, made, now(), state.rules.gateThreshold));
        await finishPhase(phase, made.kind === 'overridden' ? 'OVERRIDDEN' : 'PASSED');
        decision = undefined;
        break;
      }
      if (!phase.gated) {
        await finishPhase(phase, 'PASSED');
        break;
      }
      const evaluatedAt = now();
      const verdict = await db.evaluateGate({
        engagementId: state.engagementId,
        sequence: phase.sequence,
        attempt,
        windowStart: phase.startedAt!,
        evaluatedAt,
        threshold: state.rules.gateThreshold,
      });
      state.gates.push({ phase: phase.name, sequence: phase.sequence, attempt, evaluatedAt, ...verdict });
      if (verdict.passed) {
        await finishPhase(phase, 'PASSED');
        break;
      }
      // An approval sent while the gate was judged meant "pass it without waiting", not "pass it whatever the KPIs
      // say": failed, the gate holds the phase, and passing it now takes an override with a reason.
      // (The compiler took `decision` for undefined after the check above; the handler may have set it since.)
      const waiting = decision as Decision | undefined;
      if (waiting?.kind === 'approved-early' && patched(FAILED_GATE_REFUSES_APPROVAL_PATCH)) {
        const reasons = verdict.reasons.join('; ');
        waiting.refused = `the gate of ${phase.name} failed while the approval waited (${reasons}): override it`;
        decision = undefined;
      }
      // An override, though, was meant for exactly this failure: the next turn takes it.
      if (waiting?.kind === 'overridden' && patched(OVERRIDE_DURING_JUDGEMENT_PATCH)) continue;
      await holdPhase(phase, verdict.reasons);
    }
    // An approval that arrived while the gate was being judged and passed is fulfilled by that pass.
    decision = undefined;
    state.currentIndex++;
  }
  await whilePaused();

  async function finishPhase(phase: PhaseState, status: 'PASSED' | 'OVERRIDDEN') {
    await db.completePhase({ engagementId: state.engagementId, sequence: phase.sequence, status, completedAt: now() });
    phase.status = status;
    phase.completedAt = now();
    state.consecutiveFailures = 0;
    if (state.volumePct !== phase.volumePct) {
      // Volume was rolled back while the phase was held: it returns with the passed gate.
      await db.recordVolumeChange({
        engagementId: state.engagementId,
        fromPct: state.volumePct,
        toPct: phase.volumePct,
        reason: `${phase.name} gate passed after rollback`,
        occurredAt: now(),
        key: `phase-${phase.sequence}/restore`,
      });
      setVolume(phase.volumePct);
    }
  }

  async function holdPhase(phase: PhaseState, reasons: string[]) {
    phase.status = 'HELD';
    state.consecutiveFailures++;
    state.history.push({ phase: phase.name, at: now(), kind: 'held', detail: reasons.join('; ') });
    if (state.consecutiveFailures === state.rules.maxConsecutiveFailures) await escalate(phase, reasons);
    phase.dueAt = new Date(Date.now() + state.rules.holdSeconds * 1000).toISOString();
  }

  /** Failed too often in a row: an escalation, and volume back to the wave before if the plan says so. */
  async function escalate(phase: PhaseState, reasons: string[]) {
    await db.raiseEscalation({
      engagementId: state.engagementId,
      severity: 'P2',
      category: 'transition-gate',
      title: `Transition gate ${phase.name} failed ${state.consecutiveFailures} times in a row`,
      description: reasons.join('; '),
      raisedBy: 'workflow:transition',
      raisedAt: now(),
      key: `transition/phase-${phase.sequence}/escalation`,
    });
    state.history.push({ phase: phase.name, at: now(), kind: 'escalated', detail: reasons.join('; ') });
    // Back to the wave before; before the first, to none: the client takes the volume back.
    const previous =
      state.phases[state.currentIndex - 1] ??
      (state.rules.rollbackOnEscalation && patched(FIRST_WAVE_ROLLS_BACK_PATCH)
        ? { name: 'no volume with the vendor', volumePct: 0 }
        : undefined);
    if (state.rules.rollbackOnEscalation && previous && previous.volumePct < state.volumePct) {
      await db.recordVolumeChange({
        engagementId: state.engagementId,
        fromPct: state.volumePct,
        toPct: previous.volumePct,
        reason: `${phase.name} gate failed ${state.consecutiveFailures} times: rolled back to ${previous.name}`,
        occurredAt: now(),
        key: `phase-${phase.sequence}/rollback`,
      });
      state.history.push({
        phase: phase.name,
        at: now(),
        kind: 'rolled-back',
        detail: `${state.volumePct}% → ${previous.volumePct}%`,
      });
      setVolume(previous.volumePct);
    }
  }

  await moveEngagementStage({ engagementId: state.engagementId, to: 'STEADY_STATE' });
  state.status = 'COMPLETED';
  state.nextGateAt = null;
  upsertSearchAttributes([
    { key: StageKey, value: 'STEADY_STATE' },
    { key: PhaseKey, value: 'steady-state' },
  ]);
  await condition(allHandlersFinished);
  return state;
}

function initialState(input: TransitionInput): TransitionState {
  const { phases, ...rules } = input.plan;
  return {
    engagementId: input.engagementId,
    status: 'RUNNING',
    phases: phases.map((p, i) => ({ ...p, sequence: i + 1, status: 'PENDING' })),
    currentIndex: 0,
    volumePct: 0,
    nextGateAt: null,
    consecutiveFailures: 0,
    gates: [],
    history: [],
    rules,
  };
}

/**
 * Takes over what an earlier run of this transition stored: the phases it passed, the one it was in (started when it
 * was, held if its last judgement failed, due when that run would have judged it next), every gate with its attempt,
 * the failures in a row and the volume. False, changing nothing, when no phase had started.
 */
function resumeFrom(state: TransitionState, stored: StoredProgress): boolean {
  if (!stored.phases.some((p) => p.startedAt)) return false;
  const bySequence = new Map(stored.phases.map((p) => [p.sequence, p]));
  let index = 0;
  for (const phase of state.phases) {
    const was = bySequence.get(phase.sequence);
    if (!was) break;
    for (const gate of was.gates) {
      state.gates.push(
        gate.verdict
          ? {
              phase: phase.name,
              sequence: phase.sequence,
              attempt: gate.attempt,
              evaluatedAt: gate.evaluatedAt,
              ...gate.verdict,
            }
          : decisionRecord(
              phase,
              gate.attempt,
              {
                kind: gate.decision?.decision ?? 'approved-early',
                actor: gate.decidedBy!,
                note: gate.decision?.note ?? undefined,
              } as Decision,
              gate.evaluatedAt,
              state.rules.gateThreshold,
            ),
      );
    }
    if (was.status === 'PASSED' || was.status === 'OVERRIDDEN') {
      Object.assign(phase, {
        status: was.status,
        startedAt: was.startedAt ?? undefined,
        completedAt: was.completedAt ?? undefined,
      });
      index++;
      continue;
    }
    if (was.startedAt) {
      const last = was.gates[was.gates.length - 1];
      const held = last !== undefined && !last.passed;
      phase.status = held ? 'HELD' : 'ACTIVE';
      phase.startedAt = was.startedAt;
      phase.dueAt = new Date(
        held
          ? Date.parse(last.evaluatedAt) + state.rules.holdSeconds * 1000
          : Date.parse(was.startedAt) + phase.minDurationSeconds * 1000,
      ).toISOString();
      // Every judgement of a phase not passed failed: they are the failures in a row.
      state.consecutiveFailures = was.gates.filter((g) => !g.passed).length;
    }
    break;
  }
  state.currentIndex = index;
  state.volumePct = stored.volumePct ?? 0;
  const phase = state.phases[index];
  if (phase?.dueAt) {
    // Paused time does not count towards the phase's minimum duration or hold: the pauses since it began, or since
    // its last judgement, move its due time as they did in the run before; one not resumed goes on.
    const since = Date.parse(
      state.gates.filter((g) => g.sequence === phase.sequence).at(-1)?.evaluatedAt ?? phase.startedAt!,
    );
    const steering = stored.steering ?? [];
    const paused = steering
      .filter((a) => a.action === 'resume' && a.phase === phase.name && Date.parse(a.at) >= since)
      .reduce((sum, a) => sum + a.pausedSeconds, 0);
    phase.dueAt = new Date(Date.parse(phase.dueAt) + paused * 1000).toISOString();
  }
  // A pause not resumed stays: one holding a running phase, and (since this patch) one holding the next wave or the
  // end, taken once a gate had passed (before it, such a run ramped on with no resume on record).
  const last = (stored.steering ?? []).at(-1);
  if (last?.action === 'pause' && (phase?.dueAt || patched(PAUSE_BEFORE_NEXT_WAVE_RESTORED_PATCH))) {
    state.status = 'PAUSED';
    state.pausedAt = last.at;
    state.nextGateAt = null;
  }
  const at = state.phases[Math.min(index, state.phases.length - 1)];
  state.history.push({
    phase: at.name,
    at: new Date(Date.now()).toISOString(),
    kind: 'resumed',
    detail: `started again where the stored phases stand: ${index} of ${state.phases.length} passed`,
  });
  return true;
}

function decisionRecord(phase: PhaseState, attempt: number, made: Decision, at: string, threshold: number): GateRecord {
  return {
    phase: phase.name,
    sequence: phase.sequence,
    attempt,
    evaluatedAt: at,
    passed: true,
    score: null,
    threshold,
    reasons: [],
    kpis: [],
    decidedBy: made.actor,
    decision: made.kind,
    note: made.note,
  };
}
