import { lifecycleWorkflowId } from '../../src/domain/lifecycle';
import { EXIT_STEP_KINDS } from '../../src/domain/renewal';
import { anEngagement, aVendor } from '../builders/engagement';
import { eventually } from '../helpers/wait';
import {
  spawnWorkerProcess,
  startStackForWorkerProcesses,
  type StackForWorkerProcesses,
} from '../helpers/worker-process';

const TASK_QUEUE = 'lifecycle-crash';
const DAY_MS = 86_400_000;

describe('a worker killed while a lifecycle waits for the renewal decision, and again during the exit', () => {
  let db: StackForWorkerProcesses['db'];
  let client: StackForWorkerProcesses['client'];
  let api: StackForWorkerProcesses['api'];
  let stack: StackForWorkerProcesses;
  beforeAll(async () => {
    stack = await startStackForWorkerProcesses(TASK_QUEUE);
    ({ db, client, api } = stack);
  });
  afterAll(() => stack.close());

  it('finishes with nothing lost or written twice', async () => {
    // given an engagement in steady state whose notice deadline is tomorrow: the evaluation is due at once
    const pm = await api.as('PROGRAM_MANAGER');
    const executive = await api.as('EXECUTIVE');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const termEnd = new Date(Date.now() + 91 * DAY_MS).toISOString().slice(0, 10);
    const { body: e } = await pm(
      'POST',
      '/engagements',
      anEngagement(vendorId, { termStart: '2025-01-01', termEnd, renewalNoticeDays: 90 }),
    );
    await db.prisma.engagement.update({ where: { id: e.id }, data: { stage: 'STEADY_STATE' } });
    const vendor = await api.as('VENDOR', vendorId);
    const read = () => pm('GET', `/engagements/${e.id}`).then((r) => r.body);

    let worker = spawnWorkerProcess({ databaseUrl: db.url, taskQueue: TASK_QUEUE });
    await worker.ready;
    expect((await pm('POST', `/engagements/${e.id}/lifecycle`, {})).status).toBe(202);
    await eventually(read, (x) => x.lifecycle?.stage === 'RENEWAL' && x.lifecycle.renewal?.councilEscalated === true);

    // when the worker is SIGKILLed during the decision wait, and a new one takes over
    await worker.kill('SIGKILL');
    worker = spawnWorkerProcess({ databaseUrl: db.url, taskQueue: TASK_QUEUE });
    await worker.ready;
    const refused = await pm('POST', `/engagements/${e.id}/renewal-decision`, { decision: 'EXIT' });
    expect(refused.status).toBe(403);
    const decided = await executive('POST', `/engagements/${e.id}/renewal-decision`, {
      decision: 'EXIT',
      reason: 'moving the process in-house',
    });
    expect(decided.status).toBe(200);
    const twice = await executive('POST', `/engagements/${e.id}/renewal-decision`, { decision: 'RENEW' });
    expect([twice.status, twice.body.detail]).toEqual([409, 'the renewal was already decided: EXIT']);
    // (the kill may have hit the council-escalation activity: it is retried after its 15 s start-to-close timeout)
    await eventually(read, (x) => x.lifecycle?.stage === 'EXIT', 60_000);

    // and killed again half-way through the exit steps
    const [first, second, ...rest] = EXIT_STEP_KINDS;
    for (const kind of [first, second]) {
      expect(
        (await vendor('POST', `/engagements/${e.id}/exit-steps/${kind}/complete`, { evidence: 'signed off' })).status,
      ).toBe(200);
    }
    await worker.kill('SIGKILL');
    worker = spawnWorkerProcess({ databaseUrl: db.url, taskQueue: TASK_QUEUE });
    await worker.ready;
    for (const kind of rest) {
      expect((await pm('POST', `/engagements/${e.id}/exit-steps/${kind}/complete`, {})).status).toBe(200);
    }
    const closed = await client.workflow.getHandle(lifecycleWorkflowId(e.id)).result();
    await worker.kill('SIGTERM');

    // then: closed, one evaluation, one decision, one row per stage change and per exit step
    expect(closed.stage).toBe('CLOSED');
    const stages = await db.prisma.stageChange.findMany({
      where: { engagementId: e.id },
      orderBy: { occurredAt: 'asc' },
    });
    expect(stages.map((s) => s.toStage)).toEqual(['RENEWAL', 'EXIT', 'CLOSED']);
    const evaluations = await db.prisma.renewalEvaluation.findMany({ where: { engagementId: e.id } });
    expect(evaluations.map((x) => [x.decision, x.decidedBy])).toEqual([['EXIT', 'executive:test-executive']]);
    const audit = await db.prisma.auditLog.groupBy({ by: ['action'], where: { entityId: e.id }, _count: true });
    expect(Object.fromEntries(audit.map((a) => [a.action, a._count]))).toMatchObject({
      'renewal.decide': 1,
      'exit.step.complete': 5,
    });
    const plan = await db.prisma.exitPlan.findUniqueOrThrow({
      where: { engagementId: e.id },
      include: { steps: true },
    });
    expect(plan.steps.filter((s) => s.completedAt)).toHaveLength(5);
    expect(await db.prisma.escalation.count({ where: { engagementId: e.id, category: 'renewal-decision' } })).toBe(1);
  });
});
