import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { createEngagementActivities } from '../../activities/engagements';
import { createLifecycleActivities } from '../../activities/lifecycle';
import { createTransitionActivities } from '../../activities/transition';
import { createTestDatabase, lockWaiters, type TestDatabase } from '../helpers/database';
import { eventually } from '../helpers/wait';

/** The lifecycle's writes retried as Temporal retries them: after a first attempt that failed half-way. */
describe('lifecycle activities, retried', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  async function anEngagement() {
    const vendor = await db.prisma.vendor.create({
      data: { legalName: `Vendor ${Date.now()}`, deliveryModel: 'OFFSHORE', serviceLines: ['FRONT_OFFICE'] },
    });
    return db.prisma.engagement.create({
      data: {
        vendorId: vendor.id,
        name: 'Retried',
        clientOrganisation: 'Globex',
        processesInScope: ['support'],
        sourcingApproach: 'STRATEGIC',
        termStart: new Date('2026-01-01'),
        termEnd: new Date('2027-01-01'),
        monthlyFee: '1000.00',
        currency: 'USD',
        renewalNoticeDays: 90,
        atRiskPct: '10.00',
        stage: 'RENEWAL',
      },
    });
  }

  // No workflow is started by these two activities: no Temporal client is needed.
  const activities = () => createLifecycleActivities(db.prisma, {} as Client, 'unused');

  it('audits a new term once, also when the first attempt opened it and failed before its audit row', async () => {
    const e = await anEngagement();
    const newTerm = { engagementId: e.id, termStart: '2027-01-01', termEnd: '2028-01-01', actor: 'renewal:renew' };
    // as if the first attempt's update committed and the worker died before the audit row
    await db.prisma.engagement.update({ where: { id: e.id }, data: { termEnd: new Date('2028-01-01') } });

    await activities().openNewTerm(newTerm);
    await activities().openNewTerm(newTerm);

    const rows = await db.prisma.auditLog.findMany({ where: { entityId: e.id, action: 'engagement.new-term' } });
    expect(rows.map((r) => r.actor)).toEqual(['renewal:renew']);
  });

  it('audits who started the exit once, also when an earlier attempt stored the plan and failed before its row', async () => {
    const e = await anEngagement();
    const exit = {
      engagementId: e.id,
      reason: 'terminated for cause: data breach',
      forCause: true,
      steps: [{ kind: 'KNOWLEDGE_RETRANSFER' as const, owner: 'vendor', dueOn: '2027-02-01' }],
      at: '2026-12-02T12:00:00Z',
      actor: 'executive:cfo',
    };
    // as if the first attempt stored the plan and the worker died before the audit row
    await db.prisma.exitPlan.create({
      data: { engagementId: e.id, reason: exit.reason, forCause: true, startedAt: new Date(exit.at) },
    });

    await activities().createExitPlan(exit);
    await activities().createExitPlan(exit);

    const rows = await db.prisma.auditLog.findMany({ where: { entityId: e.id } });
    expect(rows.map((r) => [r.action, r.actor])).toEqual([['engagement.terminate-for-cause', 'executive:cfo']]);
    expect(await db.prisma.exitPlan.count({ where: { engagementId: e.id } })).toBe(1);
  });

  it('does not write over a stage another move committed after it began: a late transition end leaves EXIT', async () => {
    const e = await anEngagement();
    await db.prisma.engagement.update({ where: { id: e.id }, data: { stage: 'TRANSITION' } });
    // given the lifecycle's move to EXIT, made but not yet committed
    const lifecycle = new pg.Client({ connectionString: db.url });
    await lifecycle.connect();
    try {
      await lifecycle.query('BEGIN');
      await lifecycle.query(`UPDATE "Engagement" SET "stage" = 'EXIT' WHERE "id" = $1`, [e.id]);

      // when the transition's last activity moves the engagement to STEADY_STATE meanwhile
      const env = new MockActivityEnvironment({
        activityId: '7',
        workflowExecution: { workflowId: `transition-${e.id}`, runId: 'r1' },
      });
      const late = env.run(createEngagementActivities(db.prisma).moveEngagementStage, {
        engagementId: e.id,
        to: 'STEADY_STATE' as const,
      });
      // (the move waits on the row's lock: before the fix, at its update; since, at its read)
      await eventually(
        () => lockWaiters(lifecycle),
        (waiting) => waiting === 1,
      );
      await lifecycle.query('COMMIT');
      await late;
    } finally {
      await lifecycle.end();
    }

    // then the engagement is exiting, and no move to STEADY_STATE is on record (it used to read TRANSITION before
    // the lock was let go, and write STEADY_STATE over EXIT)
    expect((await db.prisma.engagement.findUniqueOrThrow({ where: { id: e.id } })).stage).toBe('EXIT');
    expect(await db.prisma.stageChange.count({ where: { engagementId: e.id } })).toBe(0);
  });

  it('stores no plan change that lands after the transition was cancelled: its phases stay CANCELLED', async () => {
    const e = await anEngagement();
    const phase = (sequence: number, name: string, status: 'PASSED' | 'ACTIVE' | 'PENDING') => ({
      sequence,
      kind: 'RAMP_WAVE' as const,
      name,
      volumePct: 25 * sequence,
      minDurationSeconds: 86_400,
      status,
      ...(status !== 'PENDING' && { startedAt: new Date('2026-02-01T00:00:00Z') }),
    });
    await db.prisma.transitionPlan.create({
      data: {
        engagementId: e.id,
        gateThreshold: 95,
        holdSeconds: 3600,
        maxConsecutiveFailures: 3,
        phases: { create: [phase(1, 'wave-1', 'PASSED'), phase(2, 'wave-2', 'ACTIVE'), phase(3, 'wave-3', 'PENDING')] },
      },
    });
    const transition = createTransitionActivities(db.prisma);
    // given a termination for cause that cancelled the open phases
    expect(await transition.cancelOpenPhases({ engagementId: e.id })).toBe(2);

    // when a plan change accepted just before lands after it
    await transition.replacePlannedPhases({
      engagementId: e.id,
      afterSequence: 2,
      phases: [{ kind: 'RAMP_WAVE', name: 'wave-3b', volumePct: 100, minDurationSeconds: 86_400, gated: true }],
    });

    // then no phase is open again (it used to delete wave 3 and add wave 3b, PENDING, to a terminated engagement)
    const phases = await db.prisma.transitionPhase.findMany({
      where: { plan: { engagementId: e.id } },
      orderBy: { sequence: 'asc' },
    });
    expect(phases.map((p) => [p.name, p.status])).toEqual([
      ['wave-1', 'PASSED'],
      ['wave-2', 'CANCELLED'],
      ['wave-3', 'CANCELLED'],
    ]);
  });

  it('closing, resolves what answers, resolves the rows of escalations whose workflow is gone, and waits on none', async () => {
    // given six open escalations: one whose workflow answers, two whose workflows are gone, three that never answer
    const e = await anEngagement();
    const raise = (title: string) =>
      db.prisma.escalation.create({
        data: { engagementId: e.id, severity: 'P3', category: 'fcr', title, description: '-', raisedBy: 'test' },
      });
    const answers = await raise('answers');
    const gone = [await raise('gone 1'), await raise('gone 2')];
    for (const title of ['stuck 1', 'stuck 2', 'stuck 3']) await raise(title);
    const asked: Array<{ id: string; resolution: string; rootCause: string }> = [];
    /** The row's status when a gone escalation's workflow was asked again. */
    const statusWhenAskedAgain: string[] = [];
    const terminated: string[] = [];
    const behaviour = async (workflowId: string): Promise<unknown> => {
      const id = workflowId.replace(/^escalation-/, '');
      const again = gone.some((x) => x.id === id) && asked.filter((a) => a.id === workflowId).length > 1;
      if (again) statusWhenAskedAgain.push((await db.prisma.escalation.findUniqueOrThrow({ where: { id } })).status);
      // the second gone one's raise starts its workflow just after the first ask (its row was stored before); it
      // takes the resolution. The first's is started too, and does not answer.
      if (again && id === gone[1].id) return {};
      if (again && id === gone[0].id) throw new Error('aborted: no answer');
      if (gone.some((x) => x.id === id)) throw new WorkflowNotFoundError('gone', workflowId, undefined);
      if (id === answers.id) return Promise.resolve({});
      return new Promise(() => undefined);
    };
    // (a client whose calls are cut off by the signal given, as the SDK's are)
    const client = {
      withDeadline: (_deadline: number, call: () => Promise<unknown>) => call(),
      withAbortSignal: (signal: AbortSignal, call: () => Promise<unknown>) =>
        new Promise((resolve, reject) => {
          signal.addEventListener('abort', () => reject(new Error('aborted: no answer')));
          call().then(resolve, reject);
        }),
      workflow: {
        getHandle: (workflowId: string) => ({
          executeUpdate: (
            _update: unknown,
            { args: [answer] }: { args: [{ resolution: string; rootCause: string }] },
          ) => {
            asked.push({ id: workflowId, ...answer });
            return behaviour(workflowId);
          },
          terminate: async () => void terminated.push(workflowId),
        }),
      },
    } as unknown as Client;

    // when the engagement closes
    const outcome = await new MockActivityEnvironment().run(
      createLifecycleActivities(db.prisma, client, 'unused').resolveOpenEscalations,
      { engagementId: e.id, resolution: 'engagement closed on 2027-01-01: the vendor has left, no further action' },
    );

    // then all were asked at once, each with the closure as its resolution and no root cause made up; the gone ones
    // again once their rows were resolved, in case a raise was just starting their workflow
    expect(asked).toHaveLength(8);
    expect(asked.filter((a) => gone.some((x) => a.id === `escalation-${x.id}`))).toHaveLength(4);
    // only once their rows were resolved; the one that did not answer then is terminated (its row is resolved)
    expect(statusWhenAskedAgain).toEqual(['RESOLVED', 'RESOLVED']);
    expect(terminated).toEqual([`escalation-${gone[0].id}`]);
    expect(new Set(asked.map((a) => a.rootCause))).toEqual(new Set(['none found: the engagement closed']));
    expect(outcome).toEqual({ resolved: 3, leftOpen: 3 });
    // and the rows of the gone ones are resolved here (nothing else would), the others left to their workflows (the
    // one that answered writes its own row: a stand-in here)
    const rows = await db.prisma.escalation.findMany({ where: { engagementId: e.id }, orderBy: { title: 'asc' } });
    expect(rows.map((r) => [r.title, r.status])).toEqual([
      ['answers', 'OPEN'],
      ['gone 1', 'RESOLVED'],
      ['gone 2', 'RESOLVED'],
      ['stuck 1', 'OPEN'],
      ['stuck 2', 'OPEN'],
      ['stuck 3', 'OPEN'],
    ]);
    expect(rows.find((r) => r.title === 'gone 1')).toMatchObject({
      resolution: 'engagement closed on 2027-01-01: the vendor has left, no further action',
      rootCause: 'none found: the engagement closed',
    });
  });
});
