import { transitionWorkflowId } from '../../workflows/transition.messages';
import { anEngagement, aVendor } from '../builders/engagement';
import { dayOffset, GOOD, putMeasurements } from '../helpers/kpi-data';
import { eventually } from '../helpers/wait';
import {
  spawnWorkerProcess,
  startStackForWorkerProcesses,
  type StackForWorkerProcesses,
} from '../helpers/worker-process';

const TASK_QUEUE = 'transition-crash';

describe('a worker killed mid-wave', () => {
  let db: StackForWorkerProcesses['db'];
  let client: StackForWorkerProcesses['client'];
  let api: StackForWorkerProcesses['api'];
  let stack: StackForWorkerProcesses;
  beforeAll(async () => {
    stack = await startStackForWorkerProcesses(TASK_QUEUE);
    ({ db, client, api } = stack);
  });
  afterAll(() => stack.close());

  it('is replaced by a new worker that finishes the transition with exactly one row per phase change and gate', async () => {
    // given a four-wave transition with good data, run by a worker process
    const pm = await api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendor.body.id));
    await putMeasurements(db.prisma, e.id, { start: dayOffset(Date.now(), -1), end: dayOffset(Date.now(), 30) }, GOOD);
    const first = spawnWorkerProcess({ databaseUrl: db.url, taskQueue: TASK_QUEUE });
    await first.ready;
    const waves = [10, 25, 50, 100].map((volumePct, i) => ({
      kind: 'RAMP_WAVE',
      name: `wave-${i + 1}`,
      volumePct,
      minDuration: '2s',
    }));
    await pm('POST', `/engagements/${e.id}/transition`, { phases: waves });

    // when the worker is SIGKILLed while wave 2 runs, and a new one starts
    await eventually(
      () => pm('GET', `/engagements/${e.id}/transition`).then((r) => r.body.live),
      (live) => live?.phases[1].status === 'ACTIVE',
    );
    await first.kill('SIGKILL');
    const second = spawnWorkerProcess({ databaseUrl: db.url, taskQueue: TASK_QUEUE });
    await second.ready;
    const result = await client.workflow.getHandle(transitionWorkflowId(e.id)).result();
    await second.kill('SIGTERM');

    // then the transition completed, and nothing was lost or written twice
    expect(result.status).toBe('COMPLETED');
    const phases = await db.prisma.transitionPhase.findMany({
      where: { plan: { engagementId: e.id } },
      include: { gateEvaluations: true },
      orderBy: { sequence: 'asc' },
    });
    expect(phases.map((p) => [p.name, p.status, p.gateEvaluations.map((g) => g.attempt)])).toEqual([
      ['wave-1', 'PASSED', [1]],
      ['wave-2', 'PASSED', [1]],
      ['wave-3', 'PASSED', [1]],
      ['wave-4', 'PASSED', [1]],
    ]);
    const volumes = await db.prisma.volumeChange.findMany({
      where: { engagementId: e.id },
      orderBy: { occurredAt: 'asc' },
    });
    expect(volumes.map((v) => [v.fromPct, v.toPct])).toEqual([
      [0, 10],
      [10, 25],
      [25, 50],
      [50, 100],
    ]);
    const stages = await db.prisma.stageChange.findMany({ where: { engagementId: e.id } });
    expect(stages.map((s) => s.toStage).sort()).toEqual(['STEADY_STATE', 'TRANSITION']);
  });
});
