import { setTimeout as delay } from 'node:timers/promises';
import { escalationWorkflowId } from '../../src/domain/escalation';
import { LIFECYCLE_STAGES, lifecycleWorkflowId, type LifecycleStage } from '../../src/domain/lifecycle';
import { EXIT_STEP_KINDS } from '../../src/domain/renewal';
import { aKpiSubmission, anEngagement, aVendor } from '../builders/engagement';
import { rowCounts } from '../helpers/api-fixture';
import { seededRandom } from '../helpers/faults';
import { dayOffset, monthOf } from '../helpers/kpi-data';
import { eventually } from '../helpers/wait';
import {
  spawnWorkerProcess,
  startStackForWorkerProcesses,
  type StackForWorkerProcesses,
  type WorkerProcess,
} from '../helpers/worker-process';

const KILLS = 10;
/** Upper bound of the random delay between an observed progress step and a kill. */
const MAX_KILL_DELAY_MS = 2500;

/** A whole transition in seconds of wall time: every gate judged on the vendor's data, none steered. */
const PHASES = [
  { kind: 'KNOWLEDGE_TRANSFER', name: 'knowledge-transfer', volumePct: 0, minDuration: '1s', gated: false },
  { kind: 'PILOT', name: 'wave-1', volumePct: 10, minDuration: '2s' },
  { kind: 'RAMP_WAVE', name: 'wave-2', volumePct: 50, minDuration: '2s' },
  { kind: 'RAMP_WAVE', name: 'wave-3', volumePct: 100, minDuration: '2s' },
  { kind: 'STABILISATION', name: 'stabilisation', volumePct: 100, minDuration: '1s' },
];

interface Step {
  name: string;
  /** What a person does at this point, through the API. */
  act?: () => Promise<void>;
  /** The progress the step waits for, read from PostgreSQL (it does not need a live worker to answer). */
  reached: () => Promise<boolean>;
}

interface Kill {
  afterStep: number;
  delayMs: number;
}

interface Run {
  engagementId: string;
  wallMs: number;
  restarts: Array<{
    afterStep: string;
    delayMs: number;
    killedAt: number;
    /** From the kill until the replacement polls. */
    readyMs: number;
    /** From the kill until the next progress step was observed (null: killed again before any). */
    progressMs: number | null;
  }>;
}

/**
 * One engagement's whole life through the API, on worker OS processes: transition, steady state, the renewal
 * evaluation due at once, the executive's EXIT decision, the five exit steps, closure. After each listed step the
 * worker is SIGKILLed at a random delay and replaced by a new process.
 */
async function runLifecycle(stack: StackForWorkerProcesses, taskQueue: string, kills: Kill[]): Promise<Run> {
  const started = Date.now();
  const { db, api, client } = stack;
  const pm = await api.as('PROGRAM_MANAGER');
  const executive = await api.as('EXECUTIVE');
  const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
  const vendor = await api.as('VENDOR', vendorId);
  // Notice deadline the day after tomorrow: the renewal evaluation and the council escalation are due at once.
  const { body: e } = await pm(
    'POST',
    '/engagements',
    anEngagement(vendorId, {
      termStart: dayOffset(Date.now(), -1),
      termEnd: dayOffset(Date.now(), 92),
      renewalNoticeDays: 90,
    }),
  );
  const submitted = await vendor('POST', `/engagements/${e.id}/kpi-submissions`, aKpiSubmission(monthOf(Date.now())), {
    'idempotency-key': 'transition-window',
  });
  expect(submitted.status).toBe(201);

  const stage = async () =>
    (await db.prisma.engagement.findUniqueOrThrow({ where: { id: e.id }, select: { stage: true } })).stage;
  const atLeast = (wanted: LifecycleStage) => async () =>
    LIFECYCLE_STAGES.indexOf(await stage()) >= LIFECYCLE_STAGES.indexOf(wanted);
  const steps: Step[] = [
    {
      name: 'lifecycle started',
      act: async () =>
        expect((await pm('POST', `/engagements/${e.id}/lifecycle`, { phases: PHASES })).status).toBe(202),
      reached: atLeast('TRANSITION'),
    },
    ...PHASES.map((phase, i) => ({
      name: `${phase.name} passed`,
      reached: async () =>
        (await db.prisma.transitionPhase.findFirst({ where: { plan: { engagementId: e.id }, sequence: i + 1 } }))
          ?.status === 'PASSED',
    })),
    { name: 'steady state', reached: atLeast('STEADY_STATE') },
    {
      name: 'renewal decision pending',
      reached: async () =>
        (await db.prisma.escalation.count({ where: { engagementId: e.id, category: 'renewal-decision' } })) === 1,
    },
    {
      name: 'exit decided',
      act: async () => {
        const decided = await executive('POST', `/engagements/${e.id}/renewal-decision`, {
          decision: 'EXIT',
          reason: 'moving the process in-house',
        });
        expect([decided.status, decided.body.detail]).toEqual([200, undefined]);
      },
      reached: atLeast('EXIT'),
    },
    ...EXIT_STEP_KINDS.map((kind) => ({
      name: `${kind} complete`,
      act: async () => {
        // The vendor completes its steps; the client's own (access revocation, final reconciliation) are the PM's.
        const side = ['ACCESS_REVOCATION', 'FINAL_RECONCILIATION'].includes(kind) ? pm : vendor;
        const done = await side('POST', `/engagements/${e.id}/exit-steps/${kind}/complete`, { evidence: 'signed' });
        expect([done.status, done.body.detail]).toEqual([200, undefined]);
      },
      reached: async () =>
        (await db.prisma.exitStep.count({
          where: { plan: { engagementId: e.id }, kind, completedAt: { not: null } },
        })) === 1,
    })),
    { name: 'closed', reached: atLeast('CLOSED') },
  ];

  const restarts: Run['restarts'] = [];
  let worker: WorkerProcess = spawnWorkerProcess({ databaseUrl: db.url, taskQueue });
  await worker.ready;
  for (const [index, step] of steps.entries()) {
    await step.act?.();
    await eventually(step.reached, Boolean, 90_000);
    const last = restarts[restarts.length - 1];
    if (last && last.progressMs === null) last.progressMs = Date.now() - last.killedAt;
    for (const kill of kills.filter((k) => k.afterStep === index)) {
      // Fault injection at a random moment after the observed step; all waiting on progress is condition-based.
      await delay(kill.delayMs);
      await worker.kill('SIGKILL');
      const killedAt = Date.now();
      worker = spawnWorkerProcess({ databaseUrl: db.url, taskQueue });
      await worker.ready;
      restarts.push({
        afterStep: step.name,
        delayMs: kill.delayMs,
        killedAt,
        readyMs: Date.now() - killedAt,
        progressMs: null,
      });
    }
  }
  const result = await client.workflow.getHandle(lifecycleWorkflowId(e.id)).result();
  expect(result.stage).toBe('CLOSED');
  await worker.kill('SIGTERM');
  // The council's escalation was resolved by the lifecycle once the renewal was decided: none is left climbing.
  for (const { id } of await db.prisma.escalation.findMany({ where: { engagementId: e.id } })) {
    const handle = client.workflow.getHandle(escalationWorkflowId(id));
    await eventually(
      async () => (await handle.describe()).status.name,
      (status) => status === 'COMPLETED',
      30_000,
    );
  }
  return { engagementId: e.id, wallMs: Date.now() - started, restarts };
}

describe('a worker SIGKILLed ten times at random points of a lifecycle', () => {
  let baseline: StackForWorkerProcesses;
  let crashed: StackForWorkerProcesses;
  beforeAll(async () => {
    baseline = await startStackForWorkerProcesses('faults-kills-baseline');
    crashed = await startStackForWorkerProcesses('faults-kills-crashed');
  });
  afterAll(async () => {
    await crashed?.close();
    await baseline?.close();
  });

  it('completes the lifecycle with exactly the rows of an uninterrupted run', async () => {
    // given kill points drawn from a printed seed: after which progress step, and how long after it
    const random = seededRandom('worker kills');
    const stepCount = 5 + PHASES.length + EXIT_STEP_KINDS.length;
    const kills: Kill[] = Array.from({ length: KILLS }, () => ({
      // never after the last step (closed): the lifecycle has ended by then
      afterStep: random.int(0, stepCount - 2),
      delayMs: random.int(0, MAX_KILL_DELAY_MS),
    })).sort((a, b) => a.afterStep - b.afterStep);

    // when the same lifecycle runs once undisturbed and once with its worker killed ten times
    const [clean, killed] = await Promise.all([
      runLifecycle(baseline, 'faults-kills-baseline', []),
      runLifecycle(crashed, 'faults-kills-crashed', kills),
    ]);
    console.log(
      `uninterrupted run ${clean.wallMs} ms; run with ${killed.restarts.length} kills ${killed.wallMs} ms\n` +
        killed.restarts
          .map(
            (r) =>
              `  killed ${r.delayMs} ms after "${r.afterStep}": replacement polling after ${r.readyMs} ms, ` +
              (r.progressMs === null
                ? 'killed again before the next step'
                : `next step ${r.progressMs} ms after the kill`),
          )
          .join('\n'),
    );

    // then both closed with the same rows in every table, and those rows are one per fact
    expect(killed.restarts).toHaveLength(KILLS);
    const [expected, actual] = [await rowCounts(baseline.db.prisma), await rowCounts(crashed.db.prisma)];
    expect(actual).toEqual(expected);
    const stages = await crashed.db.prisma.stageChange.findMany({
      where: { engagementId: killed.engagementId },
      orderBy: { occurredAt: 'asc' },
    });
    expect(stages.map((s) => s.toStage)).toEqual(['TRANSITION', 'STEADY_STATE', 'RENEWAL', 'EXIT', 'CLOSED']);
    const phases = await crashed.db.prisma.transitionPhase.findMany({
      where: { plan: { engagementId: killed.engagementId } },
      include: { gateEvaluations: true },
      orderBy: { sequence: 'asc' },
    });
    expect(phases.map((p) => [p.name, p.status, p.gateEvaluations.map((g) => g.attempt)])).toEqual([
      ['knowledge-transfer', 'PASSED', []],
      ['wave-1', 'PASSED', [1]],
      ['wave-2', 'PASSED', [1]],
      ['wave-3', 'PASSED', [1]],
      ['stabilisation', 'PASSED', [1]],
    ]);
    // one escalation, the council's, resolved by the lifecycle: a transition planned to end after the renewal is due
    // to be evaluated (it is due at once here) is no overrun
    const escalations = await crashed.db.prisma.escalation.findMany({ where: { engagementId: killed.engagementId } });
    expect(escalations.map((x) => [x.category, x.status])).toEqual([['renewal-decision', 'RESOLVED']]);
    expect(actual).toMatchObject({
      VolumeChange: 3,
      Escalation: 1,
      RenewalEvaluation: 1,
      ExitStep: EXIT_STEP_KINDS.length,
      Review: 0,
    });
    const audit = await crashed.db.prisma.auditLog.groupBy({ by: ['action'], _count: true });
    expect(Object.fromEntries(audit.map((a) => [a.action, a._count]))).toMatchObject({
      'renewal.decide': 1,
      'exit.step.complete': EXIT_STEP_KINDS.length,
      'transition.plan': 1,
    });
  }, 420_000);
});
