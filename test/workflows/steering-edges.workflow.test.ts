import { randomUUID } from 'node:crypto';
import {
  CancelledFailure,
  Client,
  WorkflowUpdateStage,
  Connection,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { GateVerdict } from '../../src/domain/scorecard';
import type { PhasePlan } from '../../src/domain/transition';
import { lifecycleWorkflowId } from '../../src/domain/lifecycle';
import { renewalMilestones } from '../../src/domain/renewal';
import {
  completeExitStepUpdate,
  decideRenewalUpdate,
  lifecycleStateQuery,
  terminateForCauseUpdate,
} from '../../workflows/lifecycle.messages';
import {
  approveGateUpdate,
  changePlanUpdate,
  overrideGateUpdate,
  pauseUpdate,
  resumeUpdate,
  transitionStateQuery,
  transitionWorkflowId,
  type TransitionState,
} from '../../workflows/transition.messages';
import { createLifecycleActivities } from '../../activities/lifecycle';
import type { StoredProgress } from '../../activities/transition';
import type { PrismaClient } from '../../src/db';
import { startOwnTemporal, type OwnTemporal } from '../helpers/own-servers';
import { workflowBundle } from '../helpers/temporal';
import { eventually } from '../helpers/wait';

const TASK_QUEUE = 'steering-edges';
const DAY_MS = 86_400_000;
const PASSED: GateVerdict = { passed: true, score: 100, threshold: 95, kpis: [], reasons: [] };
const RULES = { gateThreshold: 95, holdSeconds: 3600, maxConsecutiveFailures: 2, rollbackOnEscalation: false };

/** A promise the test settles: an activity that waits on it is "still running" until then. */
function latch() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const wave = (name: string, volumePct: number, minDurationSeconds: number): PhasePlan => ({
  kind: 'RAMP_WAVE',
  name,
  volumePct,
  minDurationSeconds,
  gated: true,
});

/**
 * Steering that arrives at awkward moments: a gate decision when the server suggests continue-as-new, a pause
 * while a gate is being judged, a pause or re-plan once every phase is done, a termination while a renewal is being
 * carried out. Activities are stubs the test controls; the server is a dev server of this file's own, told to
 * suggest continue-as-new after 10 history events so the suggestion is on from a workflow's third task.
 */
describe('steering at awkward moments (dev server, stubbed activities)', () => {
  let temporal: OwnTemporal;
  let client: Client;
  let native: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  /** What each test's stubs do; reset before each test. */
  let stub: {
    evaluateGate: () => Promise<GateVerdict>;
    storedProgress: () => Promise<StoredProgress>;
    completePhase: () => Promise<void>;
    moveEngagementStage: (input: { to: string }) => Promise<void>;
    openNewTerm: () => Promise<void>;
    replacePlannedPhases: () => Promise<void>;
    createExitPlan: () => Promise<void>;
    completeExitStep: () => Promise<void>;
  };
  const startedPhases: number[] = [];
  const calls = { raisedEscalations: [] as string[], volumeChanges: [] as string[], settled: [] as string[] };

  beforeAll(async () => {
    temporal = await startOwnTemporal({ 'limit.historyCount.suggestContinueAsNew': 10 });
    client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
    const nothing = async () => undefined;
    // The lifecycle's waits on a transition started on its own are the real activities: they only ask Temporal.
    const { awaitTransition, cancelTransition, transitionStatus } = createLifecycleActivities(
      {} as PrismaClient,
      client,
      TASK_QUEUE,
    );
    native = await NativeConnection.connect({ address: temporal.address });
    worker = await Worker.create({
      connection: native,
      taskQueue: TASK_QUEUE,
      workflowBundle: await workflowBundle(),
      activities: {
        // Transitions here start afresh unless a test stores progress to resume from.
        storedProgress: () => stub.storedProgress(),
        startPhase: async ({ sequence }: { sequence: number }) => void startedPhases.push(sequence),
        evaluateGate: () => stub.evaluateGate(),
        moveEngagementStage: (input: { to: string }) => stub.moveEngagementStage(input),
        openNewTerm: () => stub.openNewTerm(),
        evaluateRenewal: async () => ({ recommendation: 'RENEW', reasons: ['stub'] }),
        completePhase: () => stub.completePhase(),
        recordGateDecision: nothing,
        auditTransitionAction: nothing,
        recordVolumeChange: async (input: { key: string }) => void calls.volumeChanges.push(input.key),
        replacePlannedPhases: () => stub.replacePlannedPhases(),
        raiseEscalation: async (input: { title: string }) => void calls.raisedEscalations.push(input.title),
        startGovernance: nothing,
        recordRenewalDecision: nothing,
        settleEscalation: async (input: { key: string; resolution: string }) =>
          void calls.settled.push(`${input.key}: ${input.resolution}`),
        notify: nothing,
        createExitPlan: () => stub.createExitPlan(),
        completeExitStep: () => stub.completeExitStep(),
        awaitTransition,
        cancelTransition,
        transitionStatus,
      },
    });
    running = worker.run();
  });
  beforeEach(() => {
    startedPhases.length = 0;
    calls.raisedEscalations.length = 0;
    calls.volumeChanges.length = 0;
    calls.settled.length = 0;
    stub = {
      evaluateGate: async () => PASSED,
      storedProgress: async () => ({ volumePct: null, phases: [] }),
      completePhase: async () => undefined,
      moveEngagementStage: async () => undefined,
      openNewTerm: async () => undefined,
      replacePlannedPhases: async () => undefined,
      createExitPlan: async () => undefined,
      completeExitStep: async () => undefined,
    };
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await native?.close();
    await client?.connection.close();
    await temporal?.close();
  });

  const startTransition = (phases: PhasePlan[], rules: Partial<typeof RULES> = {}) =>
    client.workflow.start('transition', {
      taskQueue: TASK_QUEUE,
      workflowId: `transition-${randomUUID()}`,
      args: [{ engagementId: randomUUID(), vendorId: randomUUID(), plan: { ...RULES, ...rules, phases } }],
    });

  const stateOf = (handle: WorkflowHandle) => handle.query(transitionStateQuery);

  /** Gate judgements that open `judging` when they start and pass once the test opens `judged`. */
  const holdGateJudgement = () => {
    const judging = latch();
    const judged = latch();
    stub.evaluateGate = async () => {
      judging.open();
      await judged.opened;
      return PASSED;
    };
    return { judging, judged };
  };

  /** The reason an update was refused, or a failure if it was accepted. */
  async function refusal(sent: Promise<unknown>): Promise<string> {
    const error = await sent.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
    return String((error as WorkflowUpdateFailedError).cause?.message);
  }

  const hasEvent = (e: object, kind: string) => (e as Record<string, unknown>)[`${kind}EventAttributes`] != null;

  /**
   * A transition cancelled (a termination for cause) while its gate's judgement, a regular activity, is held: returns
   * once the workflow has taken the cancellation and has no task pending, with its history then; `release` lets the
   * activity end as `ending` does.
   */
  async function cancelledDuringItsActivity(ending: () => void = () => undefined) {
    const inActivity = latch();
    const finish = latch();
    stub.evaluateGate = async () => {
      inActivity.open();
      await finish.opened;
      ending();
      return PASSED;
    };
    const handle = await startTransition([wave('wave-1', 50, 1)]);
    await inActivity.opened;
    await handle.cancel();
    const { events } = await eventually(
      async () => ({
        events: (await handle.fetchHistory()).events ?? [],
        pendingTask: (await handle.describe()).raw.pendingWorkflowTask != null,
      }),
      (h) => !h.pendingTask && h.events.some((e) => hasEvent(e, 'activityTaskCancelRequested')),
    );
    return { handle, events, release: finish.open };
  }

  it('ends a cancelled transition only once the activity it was running has finished: its write cannot come after', async () => {
    const { handle, events, release } = await cancelledDuringItsActivity();

    // the workflow task that took the request did nothing else: the workflow waits for its activity (it used to go
    // on in that same task, announcing its end and closing, while the activity still ran)
    const after = events.findIndex((e) => hasEvent(e, 'activityTaskCancelRequested'));
    expect(events.slice(after + 1)).toEqual([]);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    release();

    // then the workflow ended cancelled after the activity's completion (it used to end at the request, and the
    // activity's write landed after the transition, and its open phases, were over)
    await expect(handle.result()).rejects.toThrow();
    const closed = (await handle.fetchHistory()).events ?? [];
    const completed = closed.findIndex((e) => hasEvent(e, 'activityTaskCompleted'));
    const cancelled = closed.findIndex((e) => hasEvent(e, 'workflowExecutionCanceled'));
    expect(completed).toBeGreaterThan(-1);
    expect(cancelled).toBeGreaterThan(completed);
  });

  it('waits as long for a local activity it was running (moving the stage): its write cannot come after either', async () => {
    // given a transition cancelled while it moves the engagement's stage, a local activity held by the test
    const inActivity = latch();
    const finish = latch();
    let finishedAt: number | undefined;
    stub.moveEngagementStage = async () => {
      inActivity.open();
      await finish.opened;
      finishedAt = Date.now();
    };
    // (a short workflow task timeout: a task kept open by a local activity is renewed at 80 % of it, and the
    // cancellation reaches the workflow in the renewed one, while the activity still runs)
    const handle = await client.workflow.start('transition', {
      taskQueue: TASK_QUEUE,
      workflowId: `transition-${randomUUID()}`,
      workflowTaskTimeout: '2 seconds',
      args: [
        { engagementId: randomUUID(), vendorId: randomUUID(), plan: { ...RULES, phases: [wave('wave-1', 50, 3600)] } },
      ],
    });
    await inActivity.opened;
    await handle.cancel();
    // the workflow has taken the request (a workflow task completed after it) and still runs
    await eventually(
      async () => (await handle.fetchHistory()).events ?? [],
      (events) => {
        const asked = events.findIndex((e) => hasEvent(e, 'workflowExecutionCancelRequested'));
        return asked > -1 && events.slice(asked).some((e) => hasEvent(e, 'workflowTaskCompleted'));
      },
    );
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(finishedAt).toBeUndefined();

    // when the activity finishes
    finish.open();

    // then the transition ends cancelled, after it
    const error = await handle.result().then(
      () => undefined,
      (e: unknown) => e as { cause?: unknown },
    );
    expect(error?.cause).toBeInstanceOf(CancelledFailure);
    const closedAt = (await handle.describe()).closeTime!.getTime();
    expect(finishedAt).toBeDefined();
    expect(closedAt).toBeGreaterThanOrEqual(finishedAt!);
    // (and it was the local activity: no regular one was scheduled to move the stage)
    const events = (await handle.fetchHistory()).events ?? [];
    expect(
      events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'moveEngagementStage'),
    ).toBe(false);
    expect(events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toBe(true);
  });

  it('ends cancelled, not failed, when the activity it waited for after a cancellation fails', async () => {
    // when the held activity then fails (a database error; it is not retried, its cancellation was asked)
    const { handle, release } = await cancelledDuringItsActivity(() => {
      throw new Error('database connection lost');
    });
    release();

    // then the transition is cancelled (a failed one would fail the lifecycle that cancelled it for cause)
    const error = await handle.result().then(
      () => undefined,
      (e: unknown) => e as { cause?: unknown },
    );
    expect(error?.cause).toBeInstanceOf(CancelledFailure);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
  });

  it('takes a gate approval that arrives while continue-as-new is suggested, then continues as new', async () => {
    // given a transition whose first wave waits an hour, on a server that already suggests continue-as-new
    const handle = await startTransition([wave('wave-1', 50, 3600), wave('wave-2', 100, 1)]);
    await eventually(
      () => stateOf(handle),
      (s) => s.phases[0].status === 'ACTIVE',
    );

    // when the program manager approves the gate early
    const approved = await handle.executeUpdate(approveGateUpdate, { args: [{ actor: 'pm', note: 'ready' }] });

    // then the approval is answered with the wave passed (it used to wait forever for the continue-as-new)
    expect(approved.phases[0].status).toBe('PASSED');
    expect(approved.gates[0]).toMatchObject({ phase: 'wave-1', decision: 'approved-early', decidedBy: 'pm' });
    // and the transition still continues as new at its next wait, carrying its state, and completes
    const result = (await handle.result()) as TransitionState;
    expect(result.status).toBe('COMPLETED');
    expect(result.phases.map((p) => p.status)).toEqual(['PASSED', 'PASSED']);
    const firstRun = await client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
    expect(firstRun.status.name).toBe('CONTINUED_AS_NEW');
  });

  it('holds the ramp when a pause is accepted while a gate is being judged, until it is resumed', async () => {
    // given a gate whose judgement is still running
    const { judging, judged } = holdGateJudgement();
    const handle = await startTransition([wave('wave-1', 50, 1), wave('wave-2', 100, 3600)]);
    await judging.opened;

    // when the transition is paused then, and the gate passes
    const paused = await handle.executeUpdate(pauseUpdate, { args: [{ actor: 'pm', reason: 'hiring freeze' }] });
    expect(paused.status).toBe('PAUSED');
    judged.open();

    // then the passed wave completes, but the next one does not start: its volume is not raised while paused
    const held = await eventually(
      () => stateOf(handle),
      (s) => s.phases[0].status === 'PASSED',
    );
    expect(held).toMatchObject({ status: 'PAUSED', currentIndex: 1, volumePct: 50 });
    expect(held.phases[1].status).toBe('PENDING');
    // and the workflow, idle on the pause (no task or activity pending), has not run the next phase's start (a local
    // activity since the patch: scheduling it is running it, so the stub's calls say what was started)
    await eventually(
      () => handle.describe(),
      (d) => (d.raw.pendingActivities ?? []).length === 0 && d.raw.pendingWorkflowTask == null,
    );
    expect(startedPhases).toEqual([1]);

    // when it is resumed, the next wave starts
    await handle.executeUpdate(resumeUpdate, { args: [{ actor: 'pm' }] });
    const ramped = await eventually(
      () => stateOf(handle),
      (s) => s.phases[1].status === 'ACTIVE',
    );
    expect(ramped).toMatchObject({ status: 'RUNNING', volumePct: 100 });
    expect(startedPhases).toEqual([1, 2]);
    await handle.terminate('test done');
  });

  it('refuses an approval that arrived while the gate was being judged once the gate fails, and holds the phase', async () => {
    // given a gate whose judgement is still running, and will fail
    const judging = latch();
    const judged = latch();
    const failed: GateVerdict = { passed: false, score: 60, threshold: 95, kpis: [], reasons: ['fcr 60 below 75'] };
    stub.evaluateGate = async () => {
      judging.open();
      await judged.opened;
      return failed;
    };
    const handle = await startTransition([wave('wave-1', 50, 1), wave('wave-2', 100, 3600)]);
    await judging.opened;

    // when the program manager approves the gate then, and the judgement fails
    const approval = handle.executeUpdate(approveGateUpdate, { args: [{ actor: 'pm', phase: 'wave-1' }] });
    await eventually(
      () => handle.fetchHistory(),
      (h) => (h.events ?? []).some((e) => e.workflowExecutionUpdateAcceptedEventAttributes),
    );
    judged.open();

    // then the approval is refused with the reason (it used to pass the failed gate on the next turn)
    const refusal = await approval.catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((refusal as WorkflowUpdateFailedError).cause?.message)).toBe(
      'the gate of wave-1 failed while the approval waited (fcr 60 below 75): override it',
    );
    // and the phase is held at its volume, the next not started
    const held = await stateOf(handle);
    expect(held).toMatchObject({ currentIndex: 0, volumePct: 50 });
    expect(held.phases.map((p) => p.status)).toEqual(['HELD', 'PENDING']);
    expect(startedPhases).toEqual([1]);
    await handle.terminate('test done');
  });

  it('takes an override accepted while a held gate is judged again: no second hold, escalation or rollback', async () => {
    // given a second wave whose gate failed once and, its hold over, is being judged again (and will fail again,
    // the failure that would escalate and roll the volume back)
    const judging = latch();
    const judged = latch();
    const failed: GateVerdict = { passed: false, score: 60, threshold: 95, kpis: [], reasons: ['fcr 60 below 75'] };
    let judgements = 0;
    stub.evaluateGate = async () => {
      judgements++;
      if (judgements === 1) return PASSED;
      if (judgements === 3) {
        judging.open();
        await judged.opened;
      }
      return failed;
    };
    const handle = await startTransition([wave('wave-1', 50, 1), wave('wave-2', 100, 1)], {
      holdSeconds: 1,
      rollbackOnEscalation: true,
    });
    await judging.opened;

    // when the program manager overrides the held gate then, and the judgement fails
    const override = handle.executeUpdate(overrideGateUpdate, {
      args: [{ actor: 'pm', reason: 'client accepts the risk' }],
    });
    await eventually(
      () => handle.fetchHistory(),
      (h) => (h.events ?? []).some((e) => e.workflowExecutionUpdateAcceptedEventAttributes),
    );
    judged.open();

    // then the override passes the phase at its volume, with nothing escalated or rolled back on the way (the
    // failure used to count first: a P2 escalation, volume back to 50 %, then restored by the override)
    const done = await override;
    expect(done.phases.map((p) => p.status)).toEqual(['PASSED', 'OVERRIDDEN']);
    expect(done.volumePct).toBe(100);
    expect(calls.raisedEscalations).toEqual([]);
    expect(calls.volumeChanges).toEqual([]);
    expect(done.gates.map((g) => [g.phase, g.attempt, g.decision ?? g.passed])).toEqual([
      ['wave-1', 1, true],
      ['wave-2', 1, false],
      ['wave-2', 2, false],
      ['wave-2', 3, 'overridden'],
    ]);
    await handle.terminate('test done').catch(() => undefined);
  });

  /** Holds the storing of a plan change until `stored` is opened; `storing` opens when it has begun. */
  function holdPlanStoring() {
    const storing = latch();
    const stored = latch();
    stub.replacePlannedPhases = async () => {
      storing.open();
      await stored.opened;
    };
    return { storing, stored };
  }

  /** Lets the held gate pass, waits for it to have passed, then lets the held plan change be stored. */
  async function passTheGateThenStoreThePlan(
    handle: Parameters<typeof stateOf>[0],
    judged: { open(): void },
    stored: { open(): void },
    replanned: Promise<unknown>,
  ) {
    judged.open();
    await eventually(
      () => stateOf(handle),
      (s) => s.phases[0].status === 'PASSED',
    );
    stored.open();
    await replanned;
  }

  it('moves on to the new plan’s next phase when a gate passes while that plan is being stored', async () => {
    // given a gate being judged, and a new plan for the phases after it whose storing is still running
    const { judging, judged } = holdGateJudgement();
    const { storing, stored } = holdPlanStoring();
    const handle = await startTransition([wave('wave-1', 50, 1), wave('wave-2', 75, 3600), wave('wave-3', 100, 3600)]);
    await judging.opened;
    const replanned = handle.executeUpdate(changePlanUpdate, {
      args: [{ actor: 'pm', phases: [wave('wave-2b', 80, 3600), wave('wave-3b', 100, 3600)] }],
    });
    await storing.opened;

    // when the gate passes before the plan is stored, and then the plan is stored
    await passTheGateThenStoreThePlan(handle, judged, stored, replanned);

    // then the ramp goes on with the new plan's next phase (it used to start the old one, out of the plan)
    const next = await eventually(
      () => stateOf(handle),
      (s) => s.phases[1].status === 'ACTIVE',
    );
    expect(next.phases.map((p) => [p.name, p.status])).toEqual([
      ['wave-1', 'PASSED'],
      ['wave-2b', 'ACTIVE'],
      ['wave-3b', 'PENDING'],
    ]);
    expect(next.volumePct).toBe(80);
    expect(startedPhases).toEqual([1, 2]);
    await handle.terminate('test done');
  });

  it('runs the new plan’s phases when the last gate passes while that plan is being stored, and refuses a second plan meanwhile', async () => {
    // given the last phase's gate being judged, and a new plan (a hypercare phase after it) still being stored
    const { judging, judged } = holdGateJudgement();
    const { storing, stored } = holdPlanStoring();
    const handle = await startTransition([wave('wave-1', 100, 1)]);
    await judging.opened;
    const replanned = handle.executeUpdate(changePlanUpdate, {
      args: [{ actor: 'pm', phases: [wave('hypercare', 100, 3600)] }],
    });
    await storing.opened;
    const second = await handle
      .executeUpdate(changePlanUpdate, { args: [{ actor: 'pm', phases: [wave('other', 100, 3600)] }] })
      .catch((error: unknown) => error);

    // when the gate passes before the plan is stored, and then the plan is stored
    await passTheGateThenStoreThePlan(handle, judged, stored, replanned);

    // then the hypercare phase runs (the transition used to complete without it, its row left PENDING)
    const next = await eventually(
      () => stateOf(handle),
      (s) => s.phases[1]?.status === 'ACTIVE',
    );
    expect(next.status).toBe('RUNNING');
    expect(next.phases.map((p) => [p.name, p.status])).toEqual([
      ['wave-1', 'PASSED'],
      ['hypercare', 'ACTIVE'],
    ]);
    expect(startedPhases).toEqual([1, 2]);
    // and the plan change sent while the first was stored was refused, not applied over it
    expect(String((second as Error).cause ?? second)).toMatch(/another plan change is being stored/);
    await handle.terminate('test done');
  });

  it.each([
    ['its last phase', [wave('wave-1', 100, 3600)], 'COMPLETED'],
    ['a phase before others', [wave('wave-1', 50, 3600), wave('wave-2', 100, 7 * 24 * 3600)], 'RUNNING'],
  ] as const)(
    'takes an approval that arrives while a resumed run finishes %s on its stored passed gate as fulfilled',
    async (_name, phases, after) => {
      // given a run started again after the one before stored wave 1's passed gate, but not its completion, and
      // that completion being stored now
      const startedAt = new Date(Date.now() - DAY_MS).toISOString();
      stub.storedProgress = async () => ({
        volumePct: 50,
        phases: phases.map((_, i) => ({
          sequence: i + 1,
          status: i === 0 ? ('ACTIVE' as const) : ('PENDING' as const),
          startedAt: i === 0 ? startedAt : null,
          completedAt: null,
          gates: i === 0 ? [{ attempt: 1, passed: true, evaluatedAt: startedAt, verdict: PASSED }] : [],
        })),
      });
      const completing = latch();
      const completed = latch();
      stub.completePhase = async () => {
        completing.open();
        await completed.opened;
      };
      const handle = await startTransition([...phases]);
      await completing.opened;

      // when a person approves wave 1's gate meanwhile
      const approval = await handle.startUpdate(approveGateUpdate, {
        args: [{ actor: 'pm', phase: 'wave-1' }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      completed.open();

      // then the approval is answered (the pass fulfilled it), and it approves nothing more: the transition ends, or
      // wave 2 runs its own minimum duration, its gate not yet judged (it used to hold the approval for ever, or pass
      // wave 2 at once on it)
      const state = await approval.result();
      expect(state.phases[0].status).toBe('PASSED');
      if (after === 'COMPLETED') {
        const described = await eventually(
          () => handle.describe(),
          (d) => d.status.name !== 'RUNNING',
          20_000,
        );
        expect(described.status.name).toBe('COMPLETED');
      } else {
        // (wave 2 waits out its week: the workflow's latest command is that timer)
        await eventually(
          async () => (await handle.fetchHistory()).events?.at(-1)?.timerStartedEventAttributes?.startToFireTimeout,
          (timeout) => Number(timeout?.seconds) === 7 * 24 * 3600,
          20_000,
        );
        const now = await stateOf(handle);
        expect((await handle.describe()).status.name).toBe('RUNNING');
        expect(now.phases.map((p) => p.status)).toEqual(['PASSED', 'ACTIVE']);
        expect(now.gates.map((g) => [g.phase, g.attempt])).toEqual([['wave-1', 1]]);
        await handle.terminate('test done');
      }
    },
  );

  it('refuses a pause or a new plan once every phase is done, while the transition is finishing', async () => {
    // given a transition whose last gate has passed and whose move to steady state is still running
    const moving = latch();
    const moved = latch();
    stub.moveEngagementStage = async ({ to }) => {
      if (to !== 'STEADY_STATE') return;
      moving.open();
      await moved.opened;
    };
    const handle = await startTransition([wave('wave-1', 100, 1)]);
    await moving.opened;

    // when the program manager pauses it or changes its plan then, both are refused with the reason
    expect(await refusal(handle.executeUpdate(pauseUpdate, { args: [{ actor: 'pm' }] }))).toMatch(
      /every phase is complete/,
    );
    expect(
      await refusal(handle.executeUpdate(changePlanUpdate, { args: [{ actor: 'pm', phases: [wave('w', 100, 60)] }] })),
    ).toMatch(/every phase is complete/);

    // and the transition completes (a pause used to fail its workflow task, over and over)
    moved.open();
    expect((await handle.result()).status).toBe('COMPLETED');
  });

  /**
   * A lifecycle in its renewal window whose term ends in 15 s (no notice period: the decision is due then), its
   * renewal evaluated and waiting for a decision.
   */
  async function aLifecycleAwaitingItsRenewalDecision(defaultDecision: 'RENEW' | 'EXIT') {
    const now = Date.now();
    const termEnd = new Date(now + 15_000).toISOString();
    const handle = await client.workflow.start('engagementLifecycle', {
      taskQueue: TASK_QUEUE,
      workflowId: `lifecycle-${randomUUID()}`,
      args: [
        {
          engagementId: randomUUID(),
          vendorId: randomUUID(),
          termStart: new Date(now - 300 * DAY_MS).toISOString(),
          termEnd,
          renewalNoticeDays: 0,
          autoRenew: false,
          defaultDecision,
          transitionPlan: null,
        },
      ],
    });
    expect(Date.parse(renewalMilestones(termEnd, 0).evaluationAt)).toBeLessThan(now);
    await eventually(
      () => handle.query(lifecycleStateQuery),
      (s) => s.stage === 'RENEWAL' && s.renewal !== undefined,
    );
    return { handle, termEnd };
  }

  it('refuses termination for cause while a renewal decision is being carried out, then opens the new term', async () => {
    // given a lifecycle in its renewal window whose new term, decided, is being opened at the end of the term
    const opening = latch();
    const opened = latch();
    stub.openNewTerm = async () => {
      opening.open();
      await opened.opened;
    };
    const { handle, termEnd } = await aLifecycleAwaitingItsRenewalDecision('EXIT');
    await handle.executeUpdate(decideRenewalUpdate, { args: [{ actor: 'ceo', decision: 'RENEW' }] });
    await opening.opened;

    // when someone terminates the engagement for cause in that moment, it is refused with the reason
    expect(
      await refusal(handle.executeUpdate(terminateForCauseUpdate, { args: [{ actor: 'ceo', reason: 'fraud found' }] })),
    ).toMatch(/renewal decision \(RENEW\) is being carried out/);

    // and the new term opens (a termination used to leave both waiting on each other for good)
    opened.open();
    const next = await eventually(
      () => handle.query(lifecycleStateQuery),
      (s) => s.term === 2,
    );
    expect(next).toMatchObject({ stage: 'STEADY_STATE', termStart: termEnd });
    // and in the new term, termination for cause is accepted again
    const terminated = await handle.executeUpdate(terminateForCauseUpdate, {
      args: [{ actor: 'ceo', reason: 'fraud found' }],
    });
    expect(terminated.stage).toBe('EXIT');
    await handle.terminate('test done');
  });

  it('refuses termination for cause while an exit decided at renewal is being set up: it is already exiting', async () => {
    // given a lifecycle in its renewal window, decided EXIT, whose exit plan is being stored
    const storing = latch();
    const stored = latch();
    stub.createExitPlan = async () => {
      storing.open();
      await stored.opened;
    };
    const { handle, termEnd } = await aLifecycleAwaitingItsRenewalDecision('RENEW');
    await handle.executeUpdate(decideRenewalUpdate, { args: [{ actor: 'ceo', decision: 'EXIT' }] });
    await storing.opened;

    // when someone terminates for cause in that moment, it is refused (it used to be accepted, and then the exit
    // went ahead at the end of the term, not for cause)
    expect(
      await refusal(handle.executeUpdate(terminateForCauseUpdate, { args: [{ actor: 'ceo', reason: 'fraud found' }] })),
    ).toBe('the engagement is already exiting');

    // and the exit goes on as decided
    stored.open();
    const exiting = await eventually(
      () => handle.query(lifecycleStateQuery),
      (s) => s.stage === 'EXIT',
    );
    expect(exiting.exit).toMatchObject({ forCause: false, exitAt: termEnd });
    expect(exiting.terminated).toBeUndefined();
    await handle.terminate('test done');
  });

  it("resolves the council's escalation for a renewal decision when a termination for cause leaves it unmade", async () => {
    // given a lifecycle whose renewal decision is late: the council has been asked
    const { handle, termEnd } = await aLifecycleAwaitingItsRenewalDecision('RENEW');
    await eventually(
      () => handle.query(lifecycleStateQuery),
      (s) => s.renewal?.councilEscalated === true,
    );
    // (the state says so as the raise starts: its activity may not have run yet)
    await eventually(
      async () => calls.raisedEscalations.length,
      (raised) => raised === 1,
    );

    // when the engagement is terminated for cause instead
    await handle.executeUpdate(terminateForCauseUpdate, { args: [{ actor: 'ceo', reason: 'fraud found' }] });

    // then the council's escalation is resolved by it (it used to remind the council of a decision nobody could
    // take any more, every day, after the engagement had closed)
    await eventually(
      async () => calls.settled,
      (settled) => settled.length > 0,
    );
    expect(calls.settled).toEqual([`renewal/${termEnd}/council: no renewal: terminated for cause: fraud found`]);
    await handle.terminate('test done');
  });

  it('refuses a renewal decision once the engagement is being terminated for cause', async () => {
    // given a lifecycle in its renewal window, terminated for cause, whose exit plan is being stored
    const storing = latch();
    const stored = latch();
    stub.createExitPlan = async () => {
      storing.open();
      await stored.opened;
    };
    const { handle } = await aLifecycleAwaitingItsRenewalDecision('RENEW');
    const terminating = handle.executeUpdate(terminateForCauseUpdate, {
      args: [{ actor: 'ceo', reason: 'fraud found' }],
    });
    await storing.opened;

    // when the executive decides to renew in that moment, it is refused (it used to be accepted with a 200, shown
    // in the state, and never recorded: the engagement exits for cause)
    expect(
      await refusal(handle.executeUpdate(decideRenewalUpdate, { args: [{ actor: 'ceo', decision: 'RENEW' }] })),
    ).toBe('the engagement is being terminated for cause: no renewal is pending');

    // and the exit for cause goes on, with no decision shown
    stored.open();
    const exiting = await terminating;
    expect(exiting.exit).toMatchObject({ forCause: true });
    expect(exiting.renewal?.decision).toBeUndefined();
    await handle.terminate('test done');
  });

  const startLifecycle = (engagementId: string, transitionPlan: { phases: PhasePlan[] } | null) => {
    const now = Date.now();
    return client.workflow.start('engagementLifecycle', {
      taskQueue: TASK_QUEUE,
      // The engagement's own id: a transition started on its own signals its end to it.
      workflowId: lifecycleWorkflowId(engagementId),
      args: [
        {
          engagementId,
          vendorId: randomUUID(),
          termStart: new Date(now - DAY_MS).toISOString(),
          termEnd: new Date(now + 700 * DAY_MS).toISOString(),
          renewalNoticeDays: 90,
          autoRenew: false,
          defaultDecision: 'EXIT',
          transitionPlan: transitionPlan && { ...RULES, ...transitionPlan },
        },
      ],
    });
  };
  it('refuses a second completion of an exit step while the first is being recorded: the first stands', async () => {
    // given an engagement terminated for cause, whose first completion of an exit step is being recorded
    const recording = latch();
    const recorded = latch();
    const recordingAgain = latch();
    let calls = 0;
    stub.completeExitStep = async () => {
      (++calls === 1 ? recording : recordingAgain).open();
      await recorded.opened;
    };
    const handle = await startLifecycle(randomUUID(), null);
    await eventually(
      () => handle.query(lifecycleStateQuery),
      (s) => s.stage === 'STEADY_STATE',
    );
    await handle.executeUpdate(terminateForCauseUpdate, { args: [{ actor: 'ceo', reason: 'fraud found' }] });
    const first = handle.executeUpdate(completeExitStepUpdate, {
      args: [{ actor: 'program_manager:pat', kind: 'DATA_RETURN_AND_DELETION', evidence: 'certificate' }],
    });
    await recording.opened;

    // when the vendor completes the same step in that moment, it is refused (it used to get a 200 and overwrite
    // who completed it in the workflow's state, while the database kept the first)
    const second = refusal(
      handle.executeUpdate(completeExitStepUpdate, {
        args: [{ actor: 'vendor:acme', kind: 'DATA_RETURN_AND_DELETION', evidence: 'again' }],
      }),
    );
    expect(await Promise.race([second, recordingAgain.opened.then(() => 'accepted: being recorded again')])).toBe(
      'exit step DATA_RETURN_AND_DELETION is already being completed',
    );

    // and the first completion stands
    recorded.open();
    const done = (await first).exit!.steps.find((st) => st.kind === 'DATA_RETURN_AND_DELETION')!;
    expect(done.completedBy).toBe('program_manager:pat');
    await handle.terminate('test done');
  });

  const startStandaloneTransition = (engagementId: string, phases: PhasePlan[]) =>
    client.workflow.start('transition', {
      taskQueue: TASK_QUEUE,
      workflowId: transitionWorkflowId(engagementId),
      args: [{ engagementId, vendorId: randomUUID(), plan: { ...RULES, phases } }],
    });

  it('waits for a transition started on its own that is still running, then goes on to steady state', async () => {
    // given an engagement whose transition was started on its own and is judging its gate
    const { judging, judged } = holdGateJudgement();
    const engagementId = randomUUID();
    await startStandaloneTransition(engagementId, [wave('wave-1', 100, 1)]);
    await judging.opened;

    // when its lifecycle starts, it waits for that transition (it used to fail: the id was taken) on a timer,
    // having asked how it stands, and holding no activity (it used to wait inside one, which took a worker's
    // activity slot for as long as the transition ran)
    const lifecycle = await startLifecycle(engagementId, { phases: [wave('wave-1', 100, 1)] });
    await eventually(
      async () => (await lifecycle.fetchHistory()).events ?? [],
      (events) =>
        events.some((e) => e.timerStartedEventAttributes?.startToFireTimeout?.seconds?.toString() === '86400'),
    );
    expect((await lifecycle.describe()).raw.pendingActivities ?? []).toEqual([]);
    expect((await lifecycle.query(lifecycleStateQuery)).stage).toBe('TRANSITION');

    // and once the transition completes, the lifecycle moves to steady state, having started no second one
    judged.open();
    await eventually(
      () => lifecycle.query(lifecycleStateQuery),
      (s) => s.stage === 'STEADY_STATE',
    );
    expect(startedPhases).toEqual([1]);
    await lifecycle.terminate('test done');
  });

  it('does not run again a transition started on its own that has already completed', async () => {
    // given an engagement whose transition, started on its own, has completed
    const engagementId = randomUUID();
    const standalone = await startStandaloneTransition(engagementId, [wave('wave-1', 100, 1)]);
    expect(((await standalone.result()) as TransitionState).status).toBe('COMPLETED');

    // when its lifecycle starts with a plan, it goes to steady state without a second transition (it used to
    // start one, moving the engagement back into transition)
    const lifecycle = await startLifecycle(engagementId, { phases: [wave('wave-1', 100, 1)] });
    await eventually(
      () => lifecycle.query(lifecycleStateQuery),
      (s) => s.stage === 'STEADY_STATE',
    );
    expect(startedPhases).toEqual([1]);
    await lifecycle.terminate('test done');
  });
});
