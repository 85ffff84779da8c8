import { lifecycleWorkflowId } from '../../src/domain/lifecycle';
import { governanceWorkflowId } from '../../workflows/governance.messages';
import { transitionWorkflowId } from '../../workflows/transition.messages';
import { aKpiSubmission, anEngagement, aVendor } from '../builders/engagement';
import type { TestResponse } from '../helpers/app';
import { startDevStack, type DevStack } from '../helpers/dev-worker';
import { dayOffset } from '../helpers/kpi-data';
import { eventually } from '../helpers/wait';

const COPIES = 50;

/** The same request sent `COPIES` times at once. */
function fiftyAtOnce(send: () => Promise<TestResponse>): Promise<TestResponse[]> {
  return Promise.all(Array.from({ length: COPIES }, send));
}

/** How many responses had each status, e.g. { 200: 49, 201: 1 }. */
function statuses(responses: TestResponse[]): Record<number, number> {
  const tally: Record<number, number> = {};
  for (const { status } of responses) tally[status] = (tally[status] ?? 0) + 1;
  return tally;
}

describe('the same request sent fifty times at once', () => {
  let stack: DevStack;
  beforeAll(async () => {
    stack = await startDevStack('faults-concurrent');
  });
  afterAll(() => stack.close());

  it('starts one transition workflow, and every caller is told about that one', async () => {
    // given an engagement ready for its transition
    const { api, db, env } = stack;
    const pm = await api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId));

    // when fifty identical starts arrive together
    const responses = await fiftyAtOnce(() => pm('POST', `/engagements/${e.id}/transition`, { waves: [50, 100] }));

    // then all are answered 202 with the same run, and one plan was stored
    expect(statuses(responses)).toEqual({ 202: COPIES });
    const handle = env.client.workflow.getHandle(transitionWorkflowId(e.id));
    const { runId } = await handle.describe();
    expect(new Set(responses.map((r) => r.body.runId))).toEqual(new Set([runId]));
    expect(await db.prisma.transitionPlan.count({ where: { engagementId: e.id } })).toBe(1);
    expect(await db.prisma.auditLog.count({ where: { action: 'transition.plan' } })).toBe(1);
    // and who started it is on record, once (a start used to leave no audit entry of its own)
    const started = await db.prisma.auditLog.findMany({ where: { entityId: e.id, action: 'transition.start' } });
    expect(started.map((a) => [a.actor, (a.after as { runId: string }).runId])).toEqual([
      ['program_manager:test-program_manager', runId],
    ]);
    const stages = await eventually(
      () => db.prisma.stageChange.findMany({ where: { engagementId: e.id } }),
      (rows) => rows.length > 0,
    );
    expect(stages.map((s) => s.toStage)).toEqual(['TRANSITION']);
    await handle.terminate('test over');
  });

  it('stores one KPI submission, with or without an idempotency key', async () => {
    // given a vendor's engagement
    const { api, db } = stack;
    const pm = await api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const vendor = await api.as('VENDOR', vendorId);
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId));
    const october = aKpiSubmission();
    const november = aKpiSubmission({ periodStart: '2026-11-01', periodEnd: '2026-11-30' });

    // when the vendor's portal sends the same submission fifty times at once, with a key and without one
    const keyed = await fiftyAtOnce(() =>
      vendor('POST', `/engagements/${e.id}/kpi-submissions`, october, { 'idempotency-key': '2026-10' }),
    );
    const unkeyed = await fiftyAtOnce(() => vendor('POST', `/engagements/${e.id}/kpi-submissions`, november));

    // then one response stored it, the others were told it was already there, and one set of rows exists
    expect(statuses(keyed)).toEqual({ 201: 1, 200: COPIES - 1 });
    expect(new Set(keyed.map((r) => r.body.submissionId)).size).toBe(1);
    expect(statuses(unkeyed)).toEqual({ 201: 1, 200: COPIES - 1 });
    expect(unkeyed.filter((r) => r.status === 200).every((r) => r.body.unchanged === 2)).toBe(true);
    expect(await db.prisma.kpiSubmission.count({ where: { engagementId: e.id } })).toBe(2);
    const measurements = await db.prisma.kpiMeasurement.findMany({ where: { engagementId: e.id } });
    expect(measurements.map((m) => [m.periodStart.toISOString().slice(0, 7), m.version]).sort()).toEqual([
      ['2026-10', 1],
      ['2026-10', 1],
      ['2026-11', 1],
      ['2026-11', 1],
    ]);
    expect(
      await db.prisma.auditLog.count({
        where: { action: 'kpi.submit', entityId: { in: measurements.map((m) => m.id) } },
      }),
    ).toBe(4);
  });

  it('takes one renewal decision; the other forty-nine are told it was already made', async () => {
    // given an engagement in steady state whose renewal decision is pending
    const { api, db, env } = stack;
    const pm = await api.as('PROGRAM_MANAGER');
    const executive = await api.as('EXECUTIVE');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm(
      'POST',
      '/engagements',
      anEngagement(vendorId, { termStart: '2025-01-01', termEnd: dayOffset(Date.now(), 92), renewalNoticeDays: 90 }),
    );
    await db.prisma.engagement.update({ where: { id: e.id }, data: { stage: 'STEADY_STATE' } });
    expect((await pm('POST', `/engagements/${e.id}/lifecycle`, {})).status).toBe(202);
    expect((await pm('POST', `/engagements/${e.id}/lifecycle`, {})).status).toBe(202);
    // one lifecycle start on record for the two requests (the second found the running workflow)
    expect(await db.prisma.auditLog.count({ where: { entityId: e.id, action: 'engagement.lifecycle-start' } })).toBe(1);
    await eventually(
      () => pm('GET', `/engagements/${e.id}`).then((r) => r.body.lifecycle),
      (live) => live?.renewal?.councilEscalated === true,
    );

    // when fifty identical decisions arrive together
    const responses = await fiftyAtOnce(() =>
      executive('POST', `/engagements/${e.id}/renewal-decision`, { decision: 'EXIT', reason: 'in-house' }),
    );

    // then one was taken and the rest refused with the reason; one decision is on record
    expect(statuses(responses)).toEqual({ 200: 1, 409: COPIES - 1 });
    expect(new Set(responses.filter((r) => r.status === 409).map((r) => r.body.detail))).toEqual(
      new Set(['the renewal was already decided: EXIT']),
    );
    await eventually(
      () => db.prisma.engagement.findUniqueOrThrow({ where: { id: e.id } }),
      (row) => row.stage === 'EXIT',
    );
    expect(await db.prisma.auditLog.count({ where: { entityId: e.id, action: 'renewal.decide' } })).toBe(1);
    const evaluations = await db.prisma.renewalEvaluation.findMany({ where: { engagementId: e.id } });
    expect(evaluations.map((x) => [x.decision, x.decidedBy])).toEqual([['EXIT', 'executive:test-executive']]);
    // and the council's escalation is resolved by that decision, once
    const [council] = await eventually(
      () => db.prisma.escalation.findMany({ where: { engagementId: e.id } }),
      (rows) => rows.length === 1 && rows[0].status === 'RESOLVED',
    );
    expect(council.resolution).toBe('renewal decided: EXIT (executive)');
    expect(await db.prisma.escalationStep.count({ where: { escalationId: council.id, action: 'resolved' } })).toBe(1);
    for (const workflowId of [lifecycleWorkflowId(e.id), governanceWorkflowId(e.id)]) {
      await env.client.workflow.getHandle(workflowId).terminate('test over');
    }
  });
});
