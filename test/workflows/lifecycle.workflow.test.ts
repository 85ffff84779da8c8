import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { DateTime } from 'luxon';
import { createActivities } from '../../activities';
import { escalationWorkflowId } from '../../src/domain/escalation';
import { lifecycleWorkflowId } from '../../src/domain/lifecycle';
import { renewalAlerts, renewalMilestones } from '../../src/domain/renewal';
import {
  completeExitStepUpdate,
  decideRenewalUpdate,
  lifecycleStateQuery,
  terminateForCauseUpdate,
} from '../../workflows/lifecycle.messages';
import { governanceWorkflowId } from '../../workflows/governance.messages';
import { transitionStateQuery, transitionWorkflowId } from '../../workflows/transition.messages';
import { anEngagement, aVendor } from '../builders/engagement';
import { startTestApi, type TestApi } from '../helpers/app';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { GOOD, putMeasurements } from '../helpers/kpi-data';
import { recordHistoryIfAsked } from '../helpers/record';
import { createTimeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { eventually } from '../helpers/wait';

const DAY_MS = 86_400_000;
const SHORT_TRANSITION = {
  phases: [
    { kind: 'PILOT', name: 'wave-1', volumePct: 50, minDuration: '7d' },
    { kind: 'RAMP_WAVE', name: 'wave-2', volumePct: 100, minDuration: '7d' },
  ],
};

/** Whole engagements, years long, on the time-skipping server with real activities and a real PostgreSQL. */
describe('engagement lifecycle (time-skipping, real database)', () => {
  let env: TestWorkflowEnvironment;
  let db: TestDatabase;
  let api: TestApi;
  let worker: Worker;
  let running: Promise<void>;

  beforeEach(async () => {
    env = await createTimeSkippingEnv();
    db = await createTestDatabase();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'lifecycle-ts',
      workflowBundle: await workflowBundle(),
      activities: createActivities({ prisma: db.prisma, client: env.client, taskQueue: 'lifecycle-ts', notifiers: [] }),
    });
    running = worker.run();
    api = await startTestApi({
      prisma: db.prisma,
      databaseUrl: db.url,
      temporal: env.client,
      taskQueue: 'lifecycle-ts',
    });
  });
  afterEach(async () => {
    await api?.close();
    worker?.shutdown();
    await running;
    await env?.teardown();
    await db?.drop();
  });

  /** An engagement whose term starts tomorrow (workflow time), with monthly KPI data for its whole term. */
  async function anEngagementStartingTomorrow(years: number, overrides: Record<string, unknown>) {
    const pm = await api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const t0 = await env.currentTimeMs();
    const start = new Date(t0 + DAY_MS);
    const termStart = start.toISOString().slice(0, 10);
    const termEnd = new Date(Date.UTC(start.getUTCFullYear() + years, start.getUTCMonth(), start.getUTCDate()))
      .toISOString()
      .slice(0, 10);
    const { body: e } = await pm(
      'POST',
      '/engagements',
      anEngagement(vendor.body.id, {
        termStart,
        termEnd,
        reviewCadences: ['MONTHLY', 'QUARTERLY'],
        reviewGrace: '1d',
        ...overrides,
      }),
    );
    for (let m = 0; m <= years * 12 + 2; m++) {
      const from = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + m, 1));
      const to = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + m + 1, 0));
      await putMeasurements(
        db.prisma,
        e.id,
        { start: from.toISOString().slice(0, 10), end: to.toISOString().slice(0, 10) },
        GOOD,
      );
    }
    return { pm, id: e.id as string, termEnd };
  }

  /** The renewal alerts an engagement's executive was sent, in the order they were sent. */
  const renewalAlertSubjects = async (engagementId: string) =>
    (
      await db.prisma.notification.findMany({
        where: { engagementId, eventKey: { contains: '/alert-' } },
        orderBy: { sentAt: 'asc' },
      })
    ).map((n) => n.subject);

  const sleepUntil = async (iso: string) => env.sleep(Math.max(0, Date.parse(iso) - (await env.currentTimeMs())));

  it('runs a 3-year engagement from transition to a closed exit: renewal on time, the default decision, overdue steps escalated', async () => {
    const { pm, id, termEnd } = await anEngagementStartingTomorrow(3, {
      renewalNoticeDays: 90,
      autoRenew: false,
      defaultRenewalDecision: 'EXIT',
    });
    const wallStart = Date.now();
    expect((await pm('POST', `/engagements/${id}/lifecycle`, SHORT_TRANSITION)).status).toBe(202);
    const handle = env.client.workflow.getHandle(lifecycleWorkflowId(id));
    const milestones = renewalMilestones(new Date(termEnd).toISOString(), 90);
    const deadline = milestones.noticeDeadline.slice(0, 10);

    // the executive hears of the notice deadline 120 days ahead, and not yet of the 90 days a moment before they come
    const [, ninety, thirty] = renewalAlerts(new Date(termEnd).toISOString(), 90);
    await sleepUntil(new Date(Date.parse(ninety.at) - 60_000).toISOString());
    expect(await renewalAlertSubjects(id)).toEqual([`Renewal notice deadline ${deadline} is 120 days away`]);

    // the renewal evaluation starts by itself, exactly at contract end − notice − lead time
    await sleepUntil(new Date(Date.parse(milestones.evaluationAt) + DAY_MS).toISOString());
    const renewal = await db.prisma.stageChange.findFirstOrThrow({ where: { engagementId: id, toStage: 'RENEWAL' } });
    expect(Math.abs(renewal.occurredAt.getTime() - Date.parse(milestones.evaluationAt))).toBeLessThan(60_000);
    const [evaluation] = (await pm('GET', `/engagements/${id}/renewal-evaluations`)).body.items;
    expect(evaluation.recommendation).toBe('RENEW');
    expect(evaluation.reasons[0]).toMatch(/^targets were met in 100% of KPI-months$/);
    // the executive is told the day the decision must come before (a decision on that day is too late)
    const notice = await db.prisma.notification.findFirstOrThrow({
      where: { engagementId: id, subject: { startsWith: 'Renewal decision' } },
    });
    expect(notice.subject).toBe(
      `Renewal decision due before ${milestones.noticeDeadline.slice(0, 10)}: recommended RENEW`,
    );
    const reviews = await db.prisma.review.count({ where: { engagementId: id, cadence: 'MONTHLY' } });
    // every whole month from steady state (two weeks in) to the evaluation, 150 days before the end: 28 or 29
    expect(reviews).toBeGreaterThanOrEqual(28);

    // nobody decides: reminded 30 days ahead (the 60th day was the evaluation's notice), the council is asked, then
    // the contract default (EXIT) applies at the notice deadline
    await sleepUntil(new Date(Date.parse(thirty.at) - 60_000).toISOString());
    expect(await renewalAlertSubjects(id)).toHaveLength(2);
    await sleepUntil(new Date(Date.parse(milestones.noticeDeadline) + DAY_MS).toISOString());
    expect(await renewalAlertSubjects(id)).toEqual([
      `Renewal notice deadline ${deadline} is 120 days away`,
      `Renewal notice deadline ${deadline} is 90 days away`,
      `Renewal decision pending: the notice deadline ${deadline} is 30 days away`,
    ]);
    const state = await handle.query(lifecycleStateQuery);
    expect(state.renewal).toMatchObject({ decision: 'EXIT', via: 'contract default', councilEscalated: true });
    expect(state.stage).toBe('EXIT');
    const categories = (await pm('GET', `/engagements/${id}/escalations`)).body.items.map(
      (e: { category: string }) => e.category,
    );
    expect(categories).toContain('renewal-decision');
    // and the council's escalation is resolved by the decision the contract made (it used to climb and remind the
    // council every day after the decision was made)
    const council = await db.prisma.escalation.findFirstOrThrow({
      where: { engagementId: id, category: 'renewal-decision' },
    });
    expect(council).toMatchObject({ status: 'RESOLVED', resolution: 'renewal decided: EXIT (contract default)' });

    // the first exit step is left overdue: it escalates
    await sleepUntil(new Date(Date.parse(state.exit!.steps[0].dueOn) + DAY_MS).toISOString());
    const overdue = (await pm('GET', `/engagements/${id}/escalations`)).body.items.filter(
      (e: { category: string }) => e.category === 'exit-step',
    );
    expect(overdue.map((e: { title: string }) => e.title)).toEqual(['Exit step KNOWLEDGE_RETRANSFER is overdue']);

    // the vendor may not complete the client's own steps (they end the service)
    await expect(
      handle.executeUpdate(completeExitStepUpdate, {
        args: [{ actor: 'vendor:acme', kind: 'ACCESS_REVOCATION', evidence: 'done' }],
      }),
    ).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/ACCESS_REVOCATION is the client's \(client IT security\)/) },
    });

    // every step completed, each by its side, just after a month ended (its review is due a day later, the grace for
    // late data): the service ends then, and the engagement stays in EXIT, open to that month's KPI data, until
    // governance has reviewed the month and the day of the next one the service ran; then governance ends and the
    // engagement closes
    const now = new Date(await env.currentTimeMs());
    const monthEnded = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1, 2));
    expect(monthEnded.getTime()).toBeLessThan(Date.parse(termEnd));
    // (an issue the program manager raised and nobody answered: it is open when the engagement closes)
    const unanswered = await pm('POST', `/engagements/${id}/escalations`, {
      severity: 'P3',
      category: 'handover',
      title: 'Runbooks incomplete',
      description: 'Two queues have no runbook',
    });
    expect(unanswered.status).toBe(201);
    await sleepUntil(monthEnded.toISOString());
    for (const step of state.exit!.steps) {
      const actor = step.owner.startsWith('vendor') ? 'vendor:acme' : 'program_manager:pat';
      await handle.executeUpdate(completeExitStepUpdate, { args: [{ actor, kind: step.kind, evidence: 'done' }] });
    }
    expect((await db.prisma.engagement.findUniqueOrThrow({ where: { id } })).stage).toBe('EXIT');
    const closed = await handle.result();
    expect(closed.stage).toBe('CLOSED');
    // and what was still open closed with it, its workflow done: it no longer climbs to the council every day
    expect(await db.prisma.escalation.findUniqueOrThrow({ where: { id: unanswered.body.escalationId } })).toMatchObject(
      {
        status: 'RESOLVED',
        resolution: expect.stringMatching(/^engagement closed on \d{4}-\d{2}-\d{2}: the vendor has left/),
      },
    );
    expect(await db.prisma.escalation.count({ where: { engagementId: id, status: { not: 'RESOLVED' } } })).toBe(0);
    await expect(
      env.client.workflow.getHandle(escalationWorkflowId(unanswered.body.escalationId)).result(),
    ).resolves.toBeDefined();
    const lastMonth = [now.getUTCFullYear(), now.getUTCMonth()] as const;
    const day = (month: number, date: number) => new Date(Date.UTC(lastMonth[0], month, date));
    const months = await db.prisma.review.findMany({
      where: { engagementId: id, cadence: 'MONTHLY' },
      orderBy: { periodStart: 'desc' },
      take: 2,
    });
    expect(months.map((r) => [r.periodStart, r.periodEnd])).toEqual([
      [day(lastMonth[1] + 1, 1), day(lastMonth[1] + 1, 1)],
      [day(lastMonth[1], 1), day(lastMonth[1] + 1, 0)],
    ]);
    // the overdue step's escalation was resolved once the step was completed
    const overdueStep = await db.prisma.escalation.findFirstOrThrow({
      where: { engagementId: id, category: 'exit-step' },
    });
    expect(overdueStep).toMatchObject({
      status: 'RESOLVED',
      resolution: 'exit step KNOWLEDGE_RETRANSFER completed by vendor:acme',
    });
    const stages = await db.prisma.stageChange.findMany({
      where: { engagementId: id },
      orderBy: { occurredAt: 'asc' },
    });
    expect(stages.map((s) => s.toStage)).toEqual(['TRANSITION', 'STEADY_STATE', 'RENEWAL', 'EXIT', 'CLOSED']);
    expect((await db.prisma.exitPlan.findUniqueOrThrow({ where: { engagementId: id } })).completedAt).not.toBeNull();
    // the reviews are shown ended, with no next review that would never run
    const governance = (await pm('GET', `/engagements/${id}/governance`)).body;
    expect(governance).toMatchObject({ live: null, status: 'COMPLETED' });
    await recordHistoryIfAsked(handle, 'engagementLifecycle-3y-closing-resolves-open-escalations');
    console.info(`3-year engagement, transition to closed exit: ${Date.now() - wallStart} ms of wall time`);
  });

  it('renews by the auto-renew clause and keeps monthly reviews going across the term boundary, none missed or doubled', async () => {
    const { pm, id, termEnd } = await anEngagementStartingTomorrow(1, { renewalNoticeDays: 30, autoRenew: true });
    const started = await pm('POST', `/engagements/${id}/lifecycle`, SHORT_TRANSITION);
    const handle = env.client.workflow.getHandle(lifecycleWorkflowId(id));

    await sleepUntil(new Date(Date.parse(termEnd) + 100 * DAY_MS).toISOString());
    const state = await handle.query(lifecycleStateQuery);
    expect(state).toMatchObject({ stage: 'STEADY_STATE', term: 2 });
    expect(state.termStart.slice(0, 10)).toBe(termEnd);
    // the stored stage followed into the new term (the one move back from RENEWAL that is allowed)
    expect((await db.prisma.engagement.findUniqueOrThrow({ where: { id } })).stage).toBe('STEADY_STATE');
    const [evaluation] = (await pm('GET', `/engagements/${id}/renewal-evaluations`)).body.items;
    expect(evaluation).toMatchObject({ decision: 'RENEW', decidedBy: 'contract' });

    const months = (
      await db.prisma.review.findMany({
        where: { engagementId: id, cadence: 'MONTHLY' },
        orderBy: { periodStart: 'asc' },
      })
    ).map((r) => r.periodStart.toISOString().slice(0, 7));
    expect(new Set(months).size).toBe(months.length);
    months.forEach((m, i) => {
      if (i === 0) return;
      const [y, mo] = months[i - 1].split('-').map(Number);
      expect(m).toBe(new Date(Date.UTC(y, mo, 1)).toISOString().slice(0, 7));
    });
    expect(months.some((m) => m > termEnd.slice(0, 7))).toBe(true);

    // a start sent again in the new term (a later run of the chain) finds the one started, and records no other start
    const again = await pm('POST', `/engagements/${id}/lifecycle`, {});
    expect([again.status, again.body.runId]).toEqual([202, started.body.runId]);
    const starts = await db.prisma.auditLog.findMany({ where: { entityId: id, action: 'engagement.lifecycle-start' } });
    expect(starts.map((a) => (a.after as { runId: string }).runId)).toEqual([started.body.runId]);
    await recordHistoryIfAsked(handle, 'engagementLifecycle-second-term-after-continue-as-new');
    await handle.terminate('test over');
  });

  it("renegotiates on the executive's decision: the next term gets the new fee, and the decision is audited", async () => {
    const { pm, id, termEnd } = await anEngagementStartingTomorrow(1, {
      renewalNoticeDays: 30,
      monthlyFee: '100000.00',
    });
    await pm('POST', `/engagements/${id}/lifecycle`, SHORT_TRANSITION);
    const handle = env.client.workflow.getHandle(lifecycleWorkflowId(id));
    const milestones = renewalMilestones(new Date(termEnd).toISOString(), 30);
    await sleepUntil(new Date(Date.parse(milestones.evaluationAt) + DAY_MS).toISOString());

    await handle.executeUpdate(decideRenewalUpdate, {
      args: [
        {
          actor: 'executive:cfo',
          decision: 'RENEGOTIATE',
          reason: 'volume up, unit price down',
          newMonthlyFee: '92000.00',
        },
      ],
    });
    await env.sleep('1 day');

    // decided now, in effect from the end of the term: until then the current fee and dates stand
    const waiting = await handle.query(lifecycleStateQuery);
    expect(waiting).toMatchObject({ stage: 'RENEWAL', term: 1 });
    expect(waiting.renewal!.newTermOpensAt!.slice(0, 10)).toBe(termEnd);
    const during = await db.prisma.engagement.findUniqueOrThrow({ where: { id } });
    expect(during.monthlyFee.toFixed(2)).toBe('100000.00');
    expect(during.termEnd.toISOString().slice(0, 10)).toBe(termEnd);

    await sleepUntil(new Date(Date.parse(termEnd) + DAY_MS).toISOString());
    const engagement = await db.prisma.engagement.findUniqueOrThrow({ where: { id } });
    expect(engagement.monthlyFee.toFixed(2)).toBe('92000.00');
    expect(engagement.termStart.toISOString().slice(0, 10)).toBe(termEnd);
    expect((await handle.query(lifecycleStateQuery)).term).toBe(2);
    // heads-ups before the evaluation; none of a decision pending once it was made (the 30th day came after it)
    const deadline = milestones.noticeDeadline.slice(0, 10);
    expect(await renewalAlertSubjects(id)).toEqual([
      `Renewal notice deadline ${deadline} is 120 days away`,
      `Renewal notice deadline ${deadline} is 90 days away`,
    ]);
    // the last month of the old term was reviewed with its own fee
    const lastOld = await db.prisma.review.findFirstOrThrow({
      where: { engagementId: id, cadence: 'MONTHLY', periodEnd: { lt: new Date(termEnd) } },
      orderBy: { periodStart: 'desc' },
    });
    const capOf = (review: { scorecard: unknown }) => (review.scorecard as { credits: { capCents: number } }).credits;
    const capAt = (fee: number) => ({ capCents: Math.round((fee * 100 * Number(engagement.atRiskPct)) / 100) });
    expect(capOf(lastOld)).toMatchObject(capAt(100_000));
    // and so was the month the term ended in, reviewed in the new term: it began under the old fee (it was priced at
    // the new one); the first whole month of the new term is priced at the new fee
    const end = new Date(termEnd);
    const monthOfEnd = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), 1));
    const monthAfter = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + 1, 1));
    await sleepUntil(new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + 2, 3)).toISOString());
    const reviewOf = (periodStart: Date) =>
      db.prisma.review.findFirstOrThrow({ where: { engagementId: id, cadence: 'MONTHLY', periodStart } });
    expect(capOf(await reviewOf(monthOfEnd))).toMatchObject(capAt(100_000));
    expect(capOf(await reviewOf(monthAfter))).toMatchObject(capAt(92_000));
    expect(await db.prisma.monthlyFeeChange.findMany({ where: { engagementId: id } })).toEqual([
      expect.objectContaining({ effectiveFrom: end, changedBy: 'renewal:renegotiate' }),
    ]);
    const decision = await db.prisma.auditLog.findFirstOrThrow({ where: { entityId: id, action: 'renewal.decide' } });
    expect(decision).toMatchObject({
      actor: 'executive:cfo',
      after: { decision: 'RENEGOTIATE', via: 'executive', reason: 'volume up, unit price down' },
    });
    await handle.terminate('test over');
  });

  it('started again after its run was stopped, carries out the renewal decision recorded before: no default, the new fee', async () => {
    const { pm, id, termEnd } = await anEngagementStartingTomorrow(1, {
      renewalNoticeDays: 30,
      monthlyFee: '100000.00',
      autoRenew: false,
      defaultRenewalDecision: 'EXIT',
    });
    await pm('POST', `/engagements/${id}/lifecycle`, SHORT_TRANSITION);
    const handle = env.client.workflow.getHandle(lifecycleWorkflowId(id));
    const milestones = renewalMilestones(new Date(termEnd).toISOString(), 30);
    await sleepUntil(new Date(Date.parse(milestones.evaluationAt) + DAY_MS).toISOString());
    await handle.executeUpdate(decideRenewalUpdate, {
      args: [{ actor: 'executive:cfo', decision: 'RENEGOTIATE', reason: 'unit price down', newMonthlyFee: '92000.00' }],
    });
    await env.sleep('1 day');
    expect((await handle.query(lifecycleStateQuery)).renewal!.newTermOpensAt!.slice(0, 10)).toBe(termEnd);

    // an operator stops the run; it is started again after the notice deadline has passed
    await handle.terminate('operator: stopped by mistake');
    await sleepUntil(new Date(Date.parse(milestones.noticeDeadline) + DAY_MS).toISOString());
    const again = await pm('POST', `/engagements/${id}/lifecycle`);
    expect(again.status).toBe(202);
    await env.sleep('1 day');

    // then the new run carries out the executive's decision (it used to apply the contract's default, EXIT, while the
    // database kept the renegotiation), with its fee, when the term ends
    const restarted = await handle.query(lifecycleStateQuery);
    expect(restarted.stage).toBe('RENEWAL');
    expect(restarted.renewal).toMatchObject({
      decision: 'RENEGOTIATE',
      decidedBy: 'executive:cfo',
      via: 'executive',
      reason: 'unit price down',
      newMonthlyFee: '92000.00',
    });
    expect(await db.prisma.exitPlan.count({ where: { engagementId: id } })).toBe(0);
    // and the engagement did not pass through steady state again on the way (its stage stays RENEWAL)
    const stages = await db.prisma.stageChange.findMany({
      where: { engagementId: id },
      orderBy: { occurredAt: 'asc' },
    });
    expect(stages.map((c) => c.toStage)).toEqual(['TRANSITION', 'STEADY_STATE', 'RENEWAL']);
    await sleepUntil(new Date(Date.parse(termEnd) + DAY_MS).toISOString());
    const engagement = await db.prisma.engagement.findUniqueOrThrow({ where: { id } });
    expect(engagement.monthlyFee.toFixed(2)).toBe('92000.00');
    expect(engagement.termStart.toISOString().slice(0, 10)).toBe(termEnd);
    expect((await handle.query(lifecycleStateQuery)).term).toBe(2);
    // the decision as stored, what the restarted run read
    expect(await db.prisma.renewalEvaluation.findFirstOrThrow({ where: { engagementId: id } })).toMatchObject({
      decision: 'RENEGOTIATE',
      decidedBy: 'executive:cfo',
      decidedVia: 'executive',
      decisionReason: 'unit price down',
    });
    await recordHistoryIfAsked(
      env.client.workflow.getHandle(lifecycleWorkflowId(id), again.body.runId),
      'engagementLifecycle-restarted-after-the-decision',
    );
    await handle.terminate('test over');
  });

  it('started again while exiting, takes up the stored exit plan: completed steps kept, overdue ones escalated once', async () => {
    const { pm, id } = await anEngagementStartingTomorrow(1, {});
    await pm('POST', `/engagements/${id}/lifecycle`, SHORT_TRANSITION);
    const handle = env.client.workflow.getHandle(lifecycleWorkflowId(id));
    await handle.executeUpdate(terminateForCauseUpdate, {
      args: [{ actor: 'executive:ceo', reason: 'data breach at the vendor' }],
    });
    const complete = (kind: string) =>
      pm('POST', `/engagements/${id}/exit-steps/${kind}/complete`, { evidence: 'signed off' });
    expect((await complete('KNOWLEDGE_RETRANSFER')).status).toBe(200);
    // the second step falls due and is escalated, then an operator stops the run
    await env.sleep('13 days');
    const raised = await db.prisma.escalation.count({ where: { engagementId: id, category: 'exit-step' } });
    expect(raised).toBe(1);
    await handle.terminate('operator: stopped by mistake');
    // with no lifecycle running, no step can be completed (the engagement would stay in EXIT for good)
    expect((await complete('DATA_RETURN_AND_DELETION')).status).toBe(409);

    // when the program manager starts it again (it used to be refused: "it has exited")
    const again = await pm('POST', `/engagements/${id}/lifecycle`);
    expect(again.status).toBe(202);

    // then it runs the stored plan from where it stood, and closes the engagement once the rest are complete
    const taken = await handle.query(lifecycleStateQuery);
    expect(taken.stage).toBe('EXIT');
    expect(taken.exit!.forCause).toBe(true);
    expect(taken.exit!.steps.filter((s) => s.completedAt).map((s) => s.kind)).toEqual(['KNOWLEDGE_RETRANSFER']);
    expect(taken.exit!.steps.filter((s) => s.escalated).map((s) => s.kind)).toEqual(['DATA_RETURN_AND_DELETION']);
    // the data's deletion is done only with its certificate: refused without one, through the API and the workflow
    const path = `/engagements/${id}/exit-steps/DATA_RETURN_AND_DELETION/complete`;
    for (const body of [{}, { evidence: '   ' }]) {
      const refused = await pm('POST', path, body);
      expect([refused.status, refused.body.invalidFields]).toEqual([
        400,
        [
          {
            field: 'body.evidence',
            reason:
              'is required to complete DATA_RETURN_AND_DELETION: the reference of the certificate of data deletion',
          },
        ],
      ]);
    }
    await expect(
      handle.executeUpdate(completeExitStepUpdate, {
        args: [{ actor: 'vendor:acme', kind: 'DATA_RETURN_AND_DELETION' }],
      }),
    ).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/^evidence is required to complete DATA_RETURN_AND_DELETION/) },
    });
    const open = (await pm('GET', `/engagements/${id}/exit-plan`)).body.plan.steps;
    expect(
      open.map((s: { kind: string; completedAt: unknown; evidenceRequired: unknown }) => [
        s.kind,
        s.completedAt,
        s.evidenceRequired,
      ]),
    ).toEqual([
      ['KNOWLEDGE_RETRANSFER', expect.any(String), null],
      ['DATA_RETURN_AND_DELETION', null, 'the reference of the certificate of data deletion'],
      ['IP_AND_ASSET_HANDOVER', null, null],
      ['ACCESS_REVOCATION', null, null],
      ['FINAL_RECONCILIATION', null, null],
    ]);
    for (const kind of [
      'DATA_RETURN_AND_DELETION',
      'IP_AND_ASSET_HANDOVER',
      'ACCESS_REVOCATION',
      'FINAL_RECONCILIATION',
    ])
      expect((await complete(kind)).status).toBe(200);
    const closed = await handle.result();
    expect(closed.stage).toBe('CLOSED');
    expect((await db.prisma.engagement.findUniqueOrThrow({ where: { id } })).stage).toBe('CLOSED');
    const deletion = await db.prisma.exitStep.findFirstOrThrow({
      where: { kind: 'DATA_RETURN_AND_DELETION', plan: { engagementId: id } },
    });
    expect(deletion.evidence).toBe('signed off');
    // the overdue step was escalated by the first run only (the restarted run raised nothing), and resolved when it
    // was completed
    const restartedRun = env.client.workflow.getHandle(lifecycleWorkflowId(id), again.body.runId);
    const raisedAgain = ((await restartedRun.fetchHistory()).events ?? []).filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'raiseEscalation',
    );
    expect(raisedAgain).toEqual([]);
    const escalations = await db.prisma.escalation.findMany({ where: { engagementId: id, category: 'exit-step' } });
    expect(escalations.map((e) => e.status)).toEqual(['RESOLVED']);
    await recordHistoryIfAsked(restartedRun, 'engagementLifecycle-restarted-while-exiting');
  });

  it("makes exit steps due by the end of a day in the engagement's zone, shown on that day and escalated after it", async () => {
    // given an engagement in Pago Pago (UTC−11), terminated for cause
    const timeZone = 'Pacific/Pago_Pago';
    const { pm, id } = await anEngagementStartingTomorrow(1, { timeZone });
    await pm('POST', `/engagements/${id}/lifecycle`, SHORT_TRANSITION);
    const handle = env.client.workflow.getHandle(lifecycleWorkflowId(id));
    await handle.executeUpdate(terminateForCauseUpdate, { args: [{ actor: 'executive:ceo', reason: 'fraud' }] });
    const { exit } = await handle.query(lifecycleStateQuery);

    // then every step is due at the last instant of a day there, and that day is the one stored and read back
    const local = (iso: string) => DateTime.fromISO(iso, { zone: timeZone });
    expect(exit!.steps.map((s) => local(s.dueOn).toFormat('HH:mm:ss.SSS'))).toEqual(Array(5).fill('23:59:59.999'));
    const { plan } = (await pm('GET', `/engagements/${id}/exit-plan`)).body;
    expect(
      plan.steps.map((s: { kind: string; dueOn: string; dueAt: string }) => [s.kind, s.dueOn.slice(0, 10), s.dueAt]),
    ).toEqual(exit!.steps.map((s) => [s.kind, local(s.dueOn).toISODate(), s.dueOn]));
    // (23:59 in Pago Pago is 10:59 UTC the next day: a plan storing the UTC date would show every step a day late)
    const first = exit!.steps[0];

    // and the first step is not escalated before its day has ended there, and is after
    const exitSteps = () => db.prisma.escalation.count({ where: { engagementId: id, category: 'exit-step' } });
    await env.sleep(Date.parse(first.dueOn) - 60_000 - (await env.currentTimeMs()));
    expect(await exitSteps()).toBe(0);
    await env.sleep(120_000);
    await eventually(exitSteps, (n) => n === 1, 10_000);
    // saying the day it was due there
    const overdue = await db.prisma.escalation.findFirstOrThrow({ where: { engagementId: id, category: 'exit-step' } });
    expect(overdue.description).toBe(
      `${first.kind} (owner: ${first.owner}) was due ${local(first.dueOn).toISODate()}.`,
    );
    await recordHistoryIfAsked(handle, 'engagementLifecycle-exit-steps-due-by-the-end-of-a-local-day');
    await handle.terminate('test over');
  });

  it('started again while exiting east of UTC, keeps each step due when its plan said', async () => {
    // given an engagement in Tokyo terminated for cause, its run then stopped by an operator
    const { pm, id } = await anEngagementStartingTomorrow(1, { timeZone: 'Asia/Tokyo' });
    await pm('POST', `/engagements/${id}/lifecycle`, SHORT_TRANSITION);
    const handle = env.client.workflow.getHandle(lifecycleWorkflowId(id));
    await handle.executeUpdate(terminateForCauseUpdate, { args: [{ actor: 'executive:ceo', reason: 'fraud' }] });
    const planned = (await handle.query(lifecycleStateQuery)).exit!.steps.map((s) => [s.kind, s.dueOn]);
    await handle.terminate('operator: stopped by mistake');

    // when the program manager starts it again
    expect((await pm('POST', `/engagements/${id}/lifecycle`)).status).toBe(202);

    // then the run takes up every step due at the instant the plan gave it (the end of its day in Tokyo, 14:59:59.999
    // UTC), not the end of the stored date in UTC, nine hours later
    const taken = (await handle.query(lifecycleStateQuery)).exit!.steps.map((s) => [s.kind, s.dueOn]);
    expect(taken).toEqual(planned);
    expect(planned.every(([, dueOn]) => dueOn.endsWith('T14:59:59.999Z'))).toBe(true);
    const read = (await pm('GET', `/engagements/${id}/exit-plan`)).body.plan.steps;
    expect(read.map((s: { kind: string; dueAt: string }) => [s.kind, s.dueAt])).toEqual(planned);
    await handle.terminate('test over');
  });

  /** A one-year lifecycle whose first wave runs three days, then is paused (the vendor still hiring). */
  async function aTransitionPausedOnItsThirdDay() {
    const { pm, id } = await anEngagementStartingTomorrow(1, {});
    await pm('POST', `/engagements/${id}/lifecycle`, SHORT_TRANSITION);
    const handle = env.client.workflow.getHandle(lifecycleWorkflowId(id));
    const { milestones } = await handle.query(lifecycleStateQuery);
    await env.sleep('3 days');
    const paused = await pm('POST', `/engagements/${id}/transition/pause`, { reason: 'vendor still hiring' });
    expect(paused.status).toBe(200);
    return { pm, id, handle, milestones };
  }
  const daysFrom = (iso: string, days: number) => new Date(Date.parse(iso) + days * DAY_MS).toISOString();

  it('escalates a transition still running when the renewal is due to be evaluated, and resolves that once it ends', async () => {
    // the first wave runs, then the vendor's hiring pauses the ramp
    const { pm, id, handle, milestones } = await aTransitionPausedOnItsThirdDay();
    const overruns = () =>
      db.prisma.escalation.findMany({ where: { engagementId: id, category: 'transition-overrun' } });
    // (nothing is said while there is time)
    await sleepUntil(daysFrom(milestones.evaluationAt, -1));
    expect(await overruns()).toEqual([]);

    // when the renewal falls due to be evaluated with the transition still paused
    await sleepUntil(daysFrom(milestones.evaluationAt, 1));

    // then the overrun is escalated once, naming the notice deadline, while the lifecycle waits in its transition
    const raised = await overruns();
    expect(raised.map((e) => [e.status, e.severity, e.raisedBy])).toEqual([['OPEN', 'P2', 'workflow:lifecycle']]);
    expect(raised[0].description).toContain(milestones.noticeDeadline.slice(0, 10));
    expect((await handle.query(lifecycleStateQuery)).stage).toBe('TRANSITION');

    // and when the ramp resumes and the transition completes, the escalation is resolved and the renewal evaluated
    expect((await pm('POST', `/engagements/${id}/transition/resume`, {})).status).toBe(200);
    await env.sleep('20 days');
    const renewal = await handle.query(lifecycleStateQuery);
    expect(renewal.stage).toBe('RENEWAL');
    expect(renewal.renewal?.recommendation).toBeDefined();
    const [settled] = await overruns();
    expect(settled.status).toBe('RESOLVED');
    expect(settled.resolution).toMatch(/^the transition ended on \d{4}-\d{2}-\d{2}: the renewal is evaluated now$/);
    await recordHistoryIfAsked(handle, 'engagementLifecycle-transition-overran-the-evaluation');
    await handle.terminate('test over');
  });

  it('resolves the overrun escalation when the engagement is terminated for cause before the transition ends', async () => {
    const { id, handle, milestones } = await aTransitionPausedOnItsThirdDay();
    await sleepUntil(daysFrom(milestones.evaluationAt, 1));
    const overrun = { engagementId: id, category: 'transition-overrun' };
    expect((await db.prisma.escalation.findFirstOrThrow({ where: overrun })).status).toBe('OPEN');

    // when the engagement is terminated for cause while its transition is still paused
    await handle.executeUpdate(terminateForCauseUpdate, {
      args: [{ actor: 'executive:ceo', reason: 'the vendor never staffed the team' }],
    });

    // then the overrun is answered by the termination
    const settled = await eventually(
      () => db.prisma.escalation.findFirstOrThrow({ where: overrun }),
      (row) => row.status === 'RESOLVED',
    );
    expect(settled.resolution).toBe('the engagement is terminated for cause');
    expect((await handle.query(lifecycleStateQuery)).stage).toBe('EXIT');
    await handle.terminate('test over');
  });

  it("counts the renewal deadline in the engagement's time zone: a decision on the last day there is on time", async () => {
    const timeZone = 'America/Los_Angeles';
    const { pm, id, termEnd } = await anEngagementStartingTomorrow(1, {
      renewalNoticeDays: 90,
      defaultRenewalDecision: 'EXIT',
      timeZone,
    });
    await pm('POST', `/engagements/${id}/lifecycle`, SHORT_TRANSITION);
    const handle = env.client.workflow.getHandle(lifecycleWorkflowId(id));
    const milestones = renewalMilestones(new Date(termEnd).toISOString(), 90, undefined, timeZone);
    const dueBefore = new Date(Date.parse(termEnd) - 90 * DAY_MS).toISOString().slice(0, 10);
    // the deadline is the first moment of that day in Los Angeles (07:00 or 08:00 UTC), and says so
    expect(milestones.noticeDeadline).toMatch(new RegExp(`^${dueBefore}T00:00:00\\.000-0[78]:00$`));
    await sleepUntil(new Date(Date.parse(milestones.evaluationAt) + DAY_MS).toISOString());
    const notice = await db.prisma.notification.findFirstOrThrow({
      where: { engagementId: id, subject: { startsWith: 'Renewal decision' } },
    });
    expect(notice.subject).toBe(`Renewal decision due before ${dueBefore}: recommended RENEW`);

    // an hour past midnight UTC on the due day it is still the evening before in Los Angeles: not yet too late
    // (counted in UTC, the contract's default had applied an hour before)
    await sleepUntil(new Date(Date.parse(`${dueBefore}T01:00:00Z`)).toISOString());
    expect((await handle.query(lifecycleStateQuery)).renewal?.decision).toBeUndefined();
    const executive = await api.as('EXECUTIVE');
    const decided = await executive('POST', `/engagements/${id}/renewal-decision`, {
      decision: 'RENEW',
      reason: 'decided on the last evening',
    });
    expect(decided.status).toBe(200);
    expect((await handle.query(lifecycleStateQuery)).renewal).toMatchObject({ decision: 'RENEW', via: 'executive' });
    await handle.terminate('test over');
  });

  it('a renewal decided early still lets the rest of the term be ended for cause: no next term is opened', async () => {
    const { pm, id, termEnd } = await anEngagementStartingTomorrow(1, { renewalNoticeDays: 30 });
    await pm('POST', `/engagements/${id}/lifecycle`, SHORT_TRANSITION);
    const handle = env.client.workflow.getHandle(lifecycleWorkflowId(id));
    const milestones = renewalMilestones(new Date(termEnd).toISOString(), 30);
    await sleepUntil(new Date(Date.parse(milestones.evaluationAt) + DAY_MS).toISOString());
    await handle.executeUpdate(decideRenewalUpdate, { args: [{ actor: 'executive:cfo', decision: 'RENEW' }] });
    await env.sleep('10 days');

    const state = await handle.executeUpdate(terminateForCauseUpdate, {
      args: [{ actor: 'executive:ceo', reason: 'repeated data breaches' }],
    });
    expect(state).toMatchObject({ stage: 'EXIT', term: 1 });
    expect(state.exit).toMatchObject({ forCause: true, reason: 'terminated for cause: repeated data breaches' });
    await env.sleep('60 days');
    const engagement = await db.prisma.engagement.findUniqueOrThrow({ where: { id } });
    expect(engagement.termEnd.toISOString().slice(0, 10)).toBe(termEnd);
    expect(engagement.stage).toBe('EXIT');
    expect(await db.prisma.auditLog.count({ where: { entityId: id, action: 'engagement.new-term' } })).toBe(0);
    await recordHistoryIfAsked(handle, 'engagementLifecycle-renewed-early-then-terminated-for-cause');
    await handle.terminate('test over');
  });

  it('waits for a transition started on its own without holding an activity, and moves on the moment it completes', async () => {
    const { pm, id } = await anEngagementStartingTomorrow(1, {});
    // the program manager started the transition on its own, then the lifecycle
    expect((await pm('POST', `/engagements/${id}/transition`, SHORT_TRANSITION)).status).toBe(202);
    expect((await pm('POST', `/engagements/${id}/lifecycle`)).status).toBe(202);
    const handle = env.client.workflow.getHandle(lifecycleWorkflowId(id));
    const transition = env.client.workflow.getHandle(transitionWorkflowId(id));

    // while the transition runs, the lifecycle holds no activity (it used to wait inside one for the whole ramp)
    await env.sleep('5 days');
    expect((await handle.query(lifecycleStateQuery)).stage).toBe('TRANSITION');
    expect((await handle.describe()).raw.pendingActivities ?? []).toEqual([]);

    // and when the transition completes, the lifecycle goes on within the minute (not at its next daily check): the
    // transition signalled its end, and governance started (the stage itself is moved by the transition)
    await sleepUntil(new Date((await env.currentTimeMs()) + 20 * DAY_MS).toISOString());
    const ended = await transition.describe();
    expect(ended.status.name).toBe('COMPLETED');
    const governance = await env.client.workflow.getHandle(governanceWorkflowId(id)).describe();
    expect(governance.startTime.getTime() - ended.closeTime!.getTime()).toBeLessThan(60_000);
    expect((await handle.query(lifecycleStateQuery)).stage).toBe('STEADY_STATE');
    // and no second transition ran: one plan, its two phases passed once
    const phases = await db.prisma.transitionPhase.findMany({
      where: { plan: { engagementId: id } },
      orderBy: { sequence: 'asc' },
    });
    expect(phases.map((p) => p.status)).toEqual(['PASSED', 'PASSED']);
    await recordHistoryIfAsked(handle, 'engagementLifecycle-adopted-standalone-transition');
    await recordHistoryIfAsked(transition, 'transition-standalone-announces-its-end');
    await handle.terminate('test over');
  });

  it('fails, within a day, a lifecycle whose transition started on its own was terminated', async () => {
    const { pm, id } = await anEngagementStartingTomorrow(1, {});
    expect((await pm('POST', `/engagements/${id}/transition`, SHORT_TRANSITION)).status).toBe(202);
    expect((await pm('POST', `/engagements/${id}/lifecycle`)).status).toBe(202);
    const handle = env.client.workflow.getHandle(lifecycleWorkflowId(id));
    await env.sleep('3 days');
    const terminatedAt = await env.currentTimeMs();
    await env.client.workflow.getHandle(transitionWorkflowId(id)).terminate('stopped by an operator');

    // a terminated transition sends no signal: the lifecycle's daily check finds it, and the lifecycle fails
    await expect(handle.result()).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/started on its own, ended TERMINATED/) },
    });
    const closed = await handle.describe();
    expect(closed.status.name).toBe('FAILED');
    expect(closed.closeTime!.getTime() - terminatedAt).toBeLessThanOrEqual(DAY_MS + 60_000);
    expect((await db.prisma.engagement.findUniqueOrThrow({ where: { id } })).stage).not.toBe('STEADY_STATE');
  });

  it('terminated for cause before its term begins: a transition started on its own stops, and the exit stands', async () => {
    const { pm, id } = await anEngagementStartingTomorrow(1, {});
    expect((await pm('POST', `/engagements/${id}/transition`, SHORT_TRANSITION)).status).toBe(202);
    expect((await pm('POST', `/engagements/${id}/lifecycle`)).status).toBe(202);
    const handle = env.client.workflow.getHandle(lifecycleWorkflowId(id));
    // once its first wave is ramping: this server mishandles a cancellation that meets an activity's completion (the
    // cancel is refused as ACTIVITY_UNKNOWN and the run's workflow task is stuck; earlier, when a cancelled run did not
    // wait for its activity, that activity kept time from ever moving again); the dev-server test of a cancellation
    // during an activity covers that moment
    await eventually(
      () => env.client.workflow.getHandle(transitionWorkflowId(id)).query(transitionStateQuery),
      (t) => t.phases[0]?.status === 'ACTIVE',
    );

    // the executive terminates before the term has begun
    const state = await handle.executeUpdate(terminateForCauseUpdate, {
      args: [{ actor: 'executive:ceo', reason: 'sanctions screening failed' }],
    });
    expect(state.stage).toBe('EXIT');

    // the transition started on its own is cancelled with its phases (it used to ramp on, judging gates for a
    // terminated vendor), and a month later the engagement is still exiting (its end used to move it to steady state)
    expect((await env.client.workflow.getHandle(transitionWorkflowId(id)).describe()).status.name).toBe('CANCELLED');
    await env.sleep('30 days');
    const phases = await db.prisma.transitionPhase.findMany({ where: { plan: { engagementId: id } } });
    expect(new Set(phases.map((p) => p.status))).toEqual(new Set(['CANCELLED']));
    expect((await db.prisma.engagement.findUniqueOrThrow({ where: { id } })).stage).toBe('EXIT');
    const stages = await db.prisma.stageChange.findMany({
      where: { engagementId: id },
      orderBy: { occurredAt: 'asc' },
    });
    expect(stages.map((s) => s.toStage)).not.toContain('STEADY_STATE');
    await recordHistoryIfAsked(handle, 'engagementLifecycle-terminated-before-term-standalone-transition');
    await handle.terminate('test over');
  });

  it('terminates for cause mid-transition: the ramp stops, the exit starts, no transition timer is left', async () => {
    const { pm, id } = await anEngagementStartingTomorrow(3, {});
    await pm('POST', `/engagements/${id}/lifecycle`, {
      phases: [{ kind: 'RAMP_WAVE', name: 'wave-1', volumePct: 100, minDuration: '60d' }],
    });
    const handle = env.client.workflow.getHandle(lifecycleWorkflowId(id));
    await env.sleep('10 days');
    // the lifecycle is listed in its stage in the Web UI (BpoStage), as its state says (it used to read CONTRACTED)
    const inTransition = await handle.describe();
    expect(inTransition.searchAttributes.BpoStage).toEqual(['TRANSITION']);

    const state = await handle.executeUpdate(terminateForCauseUpdate, {
      args: [{ actor: 'executive:ceo', reason: 'data breach at the vendor' }],
    });

    expect(state.stage).toBe('EXIT');
    expect(state.exit).toMatchObject({ forCause: true, reason: 'terminated for cause: data breach at the vendor' });
    const child = await env.client.workflow.getHandle(transitionWorkflowId(id)).describe();
    expect(child.status.name).toBe('CANCELLED');
    // and the transition reads as cancelled, not running: its state and its stored phases
    const transition = (await pm('GET', `/engagements/${id}/transition`)).body;
    expect(transition.live).toMatchObject({ status: 'CANCELLED', nextGateAt: null });
    expect(transition.plan.phases.map((p: { status: string }) => p.status)).toEqual(['CANCELLED']);
    const plan = await db.prisma.exitPlan.findUniqueOrThrow({ where: { engagementId: id }, include: { steps: true } });
    expect(plan.steps).toHaveLength(5);
    const audited = await db.prisma.auditLog.findMany({
      where: { entityId: id, action: 'engagement.terminate-for-cause' },
    });
    expect(audited.map((a) => [a.actor, (a.after as { reason: string }).reason])).toEqual([
      ['executive:ceo', 'terminated for cause: data breach at the vendor'],
    ]);
    await handle.terminate('test over');
  });
});
