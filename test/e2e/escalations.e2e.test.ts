import { openEscalation } from '../../activities/escalations';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createLifecycleActivities } from '../../activities/lifecycle';
import { escalationWorkflowId, lifecycleEscalationKeys } from '../../src/domain/escalation';
import { escalationStateQuery } from '../../workflows/escalation.messages';
import { anEngagement, aVendor } from '../builders/engagement';
import { startDevStack, type DevStack } from '../helpers/dev-worker';
import { recordHistoryIfAsked } from '../helpers/record';
import { eventually } from '../helpers/wait';

/** Acknowledge/resolve races belong on the dev server: short deadlines come from the engagement's own matrix. */
describe('escalations through the API (dev server)', () => {
  let s: DevStack;
  beforeAll(async () => {
    s = await startDevStack('escalations');
  });
  afterAll(() => s.close());

  async function anEngagementWithFastP1() {
    const pm = await s.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm(
      'POST',
      '/engagements',
      anEngagement(vendorId, {
        escalationLevels: [
          { level: 1, role: 'operations lead', contactName: 'Olu', contactEmail: 'ops@vendor.example' },
          { level: 2, role: 'account manager', contactName: 'Ana', contactEmail: 'am@vendor.example' },
          { level: 3, role: 'governance council', contactName: 'Sam', contactEmail: 'sam@client.example' },
        ],
        escalationPolicies: [{ severity: 'P1', acknowledgeWithin: '2s', resolveWithin: '1h' }],
        // Last month's review is due at once on any day of this month.
        reviewGrace: '1s',
      }),
    );
    const vendor = await s.api.as('VENDOR', vendorId);
    return { pm, vendor, engagementId: e.id as string };
  }

  it('climbs while unacknowledged and stops climbing once the vendor acknowledges', async () => {
    const { pm, vendor, engagementId } = await anEngagementWithFastP1();
    const raised = await pm('POST', `/engagements/${engagementId}/escalations`, {
      severity: 'P1',
      category: 'outage',
      title: 'IVR down',
      description: 'Callers cannot reach an agent',
    });
    expect(raised.status).toBe(201);
    const id = raised.body.escalationId;
    const audited = await s.db.prisma.auditLog.findMany({ where: { entityId: id, action: 'escalation.raise' } });
    expect(audited.map((a) => a.actor)).toEqual(['program_manager:test-program_manager']);
    const read = () => pm('GET', `/escalations/${id}`).then((r) => r.body);

    const climbed = await eventually(read, (e) => e.currentLevel === 2);
    expect(climbed.steps.map((st: { action: string; level: number }) => [st.action, st.level])).toEqual([
      ['raised', 1],
      ['climbed', 2],
    ]);

    const acknowledged = await vendor('POST', `/escalations/${id}/acknowledge`, { note: 'on it' });
    expect(acknowledged.status).toBe(200);
    expect(acknowledged.body.status).toBe('ACKNOWLEDGED');
    const level = acknowledged.body.level;
    // the next climb now waits for the resolve deadline, an hour away
    const after = await eventually(
      read,
      (e) => e.live?.nextClimbAt && Date.parse(e.live.nextClimbAt) - Date.now() > 50 * 60_000,
    );
    expect(after.live.level).toBe(level);
    expect(after.status).toBe('ACKNOWLEDGED');
    const again = await vendor('POST', `/escalations/${id}/acknowledge`, {});
    expect([again.status, again.body.detail]).toEqual([409, 'the escalation is already acknowledged']);

    const notices = await s.db.prisma.notification.findMany({ where: { engagementId }, orderBy: { sentAt: 'asc' } });
    expect(notices.map((n) => n.recipient).slice(0, 2)).toEqual(['operations lead', 'account manager']);

    const resolved = await vendor('POST', `/escalations/${id}/resolve`, {
      resolution: 'IVR failover fixed',
      rootCause: 'expired certificate',
    });
    expect(resolved.body.status).toBe('RESOLVED');
    await s.env.client.workflow.getHandle(escalationWorkflowId(id)).result();
    await recordHistoryIfAsked(
      s.env.client.workflow.getHandle(escalationWorkflowId(id)),
      'escalation-climbed-acknowledged-resolved-local-step',
    );
    const row = await s.db.prisma.escalation.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({
      status: 'RESOLVED',
      resolution: 'IVR failover fixed',
      rootCause: 'expired certificate',
    });
  });

  it('answers a repeated Idempotency-Key with the first escalation, and refuses it for another issue', async () => {
    const { vendor, pm, engagementId } = await anEngagementWithFastP1();
    const issue = { severity: 'P3', category: 'quality', title: 'QA miss', description: 'Batch 7 failed QA' };
    const key = { 'idempotency-key': 'esc-1' };
    const first = await vendor('POST', `/engagements/${engagementId}/escalations`, issue, key);
    const again = await vendor('POST', `/engagements/${engagementId}/escalations`, issue, key);
    const other = await vendor(
      'POST',
      `/engagements/${engagementId}/escalations`,
      { ...issue, severity: 'P1', title: 'Outage' },
      key,
    );

    const graver = await vendor('POST', `/engagements/${engagementId}/escalations`, { ...issue, severity: 'P1' }, key);

    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.body.escalationId).toBe(first.body.escalationId);
    for (const refused of [other, graver]) {
      expect(refused.status).toBe(422);
      expect(refused.body.invalidFields).toEqual([
        { field: 'header.idempotency-key', reason: 'was used for another escalation' },
      ]);
    }
    expect(await s.db.prisma.escalation.count({ where: { engagementId } })).toBe(1);

    // re-graded since, the escalation is still the one that key raised: a late retry finds it
    const regraded = await pm('POST', `/escalations/${first.body.escalationId}/severity`, { severity: 'P2' });
    expect(regraded.status).toBe(200);
    const late = await vendor('POST', `/engagements/${engagementId}/escalations`, issue, key);
    expect([late.status, late.body.escalationId]).toEqual([200, first.body.escalationId]);
  });

  it('answers a retry of a resolved escalation with it, and starts nothing again', async () => {
    const { vendor, engagementId } = await anEngagementWithFastP1();
    const issue = { severity: 'P1', category: 'outage', title: 'IVR down', description: 'Callers cannot get through' };
    const key = { 'idempotency-key': 'alert-INC-1234' };
    const first = await vendor('POST', `/engagements/${engagementId}/escalations`, issue, key);
    const id = first.body.escalationId;
    await vendor('POST', `/escalations/${id}/acknowledge`, { note: 'on it' });
    expect((await vendor('POST', `/escalations/${id}/resolve`, { resolution: 'failover fixed' })).status).toBe(200);
    const handle = s.env.client.workflow.getHandle(escalationWorkflowId(id));
    await handle.result();
    const steps = await s.db.prisma.escalationStep.count({ where: { escalationId: id } });
    const notices = await s.db.prisma.notification.count({ where: { engagementId } });

    // when the monitoring sends the same alert again, it gets the resolved escalation back
    const again = await vendor('POST', `/engagements/${engagementId}/escalations`, issue, key);
    expect([again.status, again.body.escalationId]).toEqual([200, id]);

    // and nothing runs again: the workflow's latest run is the completed one (a second used to start from the raise
    // and climb at once, its deadline past), the row stays resolved, no step or notice is added
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(await s.db.prisma.escalation.findUniqueOrThrow({ where: { id } })).toMatchObject({
      status: 'RESOLVED',
      currentLevel: 1,
    });
    expect(await s.db.prisma.escalationStep.count({ where: { escalationId: id } })).toBe(steps);
    expect(await s.db.prisma.notification.count({ where: { engagementId } })).toBe(notices);
  });

  it('takes up an escalation whose workflow was terminated from its stored steps, when its key is sent again', async () => {
    const { vendor, engagementId } = await anEngagementWithFastP1();
    const issue = { severity: 'P3', category: 'quality', title: 'QA miss', description: 'Batch 9 failed QA' };
    const key = { 'idempotency-key': 'qa-batch-9' };
    const id = (await vendor('POST', `/engagements/${engagementId}/escalations`, issue, key)).body.escalationId;
    expect((await vendor('POST', `/escalations/${id}/acknowledge`, { note: 'on it' })).status).toBe(200);
    // given its workflow terminated (by an operator, say) after the acknowledgement
    const handle = s.env.client.workflow.getHandle(escalationWorkflowId(id));
    await handle.terminate('stopped by an operator');

    // when the same key is sent again
    const again = await vendor('POST', `/engagements/${engagementId}/escalations`, issue, key);
    expect([again.status, again.body.escalationId]).toEqual([200, id]);

    // then a new run goes on from the acknowledgement (it used to start again from the raise, open at level 1, and
    // number its steps from 2: each was dropped as a repeat of the stored one, its change with it)
    const live = await eventually(
      () => handle.query(escalationStateQuery).catch(() => null),
      (state) => state !== null,
    );
    expect([live!.status, live!.steps.map((st) => st.action)]).toEqual(['ACKNOWLEDGED', ['raised', 'acknowledged']]);
    const resolved = await vendor('POST', `/escalations/${id}/resolve`, { resolution: 'batch re-run and passed' });
    expect([resolved.status, resolved.body.status]).toEqual([200, 'RESOLVED']);
    await handle.result();
    const row = await s.db.prisma.escalation.findUniqueOrThrow({
      where: { id },
      include: { steps: { orderBy: { occurredAt: 'asc' } } },
    });
    expect(row).toMatchObject({ status: 'RESOLVED', resolution: 'batch re-run and passed' });
    expect(row.resolvedAt).not.toBeNull();
    expect(row.steps.map((st) => st.action)).toEqual(['raised', 'acknowledged', 'resolved']);
  });

  it('hands the running workflow of an escalation its closure resolved in place the resolution, when the raise is sent again', async () => {
    const { vendor, engagementId } = await anEngagementWithFastP1();
    await s.db.prisma.exitPlan.create({ data: { engagementId, reason: 'not renewed' } });
    const issue = { severity: 'P3', category: 'handover', title: 'Runbooks missing', description: 'Not handed over' };
    const key = { 'idempotency-key': 'runbooks' };
    const id = (await vendor('POST', `/engagements/${engagementId}/escalations`, issue, key)).body.escalationId;
    // given the closure resolved its row in place while its raise was still starting the workflow (it found none)
    const resolution = 'engagement closed on 2027-01-01: the vendor has left, no further action';
    await s.db.prisma.escalation.update({
      where: { id },
      data: { status: 'RESOLVED', resolvedAt: new Date(), resolution, rootCause: 'none found: the engagement closed' },
    });

    // when the raise is sent again under its key
    const again = await vendor('POST', `/engagements/${engagementId}/escalations`, issue, key);
    expect([again.status, again.body.escalationId]).toEqual([200, id]);

    // then the workflow, which would have climbed on, has taken the row's resolution and ended
    const handle = s.env.client.workflow.getHandle(escalationWorkflowId(id));
    await handle.result();
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    const state = await handle.query(escalationStateQuery);
    expect(state.status).toBe('RESOLVED');
    expect(state.steps.at(-1)).toMatchObject({ action: 'resolved', actor: 'system', note: resolution });
  });

  it('answers a transition overrun still open when the renewal is evaluated: a lifecycle started again did not raise it', async () => {
    const { engagementId } = await anEngagementWithFastP1();
    const { termStart, termEnd } = await s.db.prisma.engagement.findUniqueOrThrow({ where: { id: engagementId } });
    // given the overrun a lifecycle run raised at the evaluation date, before an operator stopped that run
    const { escalationId } = await openEscalation(s.db.prisma, s.env.client, 'escalations', {
      engagementId,
      severity: 'P2',
      category: 'transition-overrun',
      title: 'Transition still running at the renewal evaluation',
      description: 'The renewal is evaluated once the transition ends.',
      raisedBy: 'workflow:lifecycle',
      raisedAt: new Date().toISOString(),
      key: lifecycleEscalationKeys.transitionOverrun(termEnd.toISOString()),
    });

    // when the run started since evaluates the renewal (its transition over)
    const { evaluateRenewal } = createLifecycleActivities(s.db.prisma, s.env.client, 'escalations');
    await new MockActivityEnvironment().run(evaluateRenewal, {
      engagementId,
      termStart: termStart.toISOString(),
      termEnd: termEnd.toISOString(),
    });

    // then the overrun is answered (it used to climb on, reminding the council daily)
    const row = await s.db.prisma.escalation.findUniqueOrThrow({ where: { id: escalationId } });
    expect([row.status, row.resolution]).toEqual([
      'RESOLVED',
      'the transition has ended: the renewal is evaluated now',
    ]);
  });

  it("keeps a vendor from answering an escalation about the client's own duty, which an executive may answer", async () => {
    const { vendor, engagementId } = await anEngagementWithFastP1();
    const executive = await s.api.as('EXECUTIVE');
    // as the lifecycle raises them: the renewal decision not made, two overdue exit steps (the client's, the vendor's),
    // a transition overrunning the renewal evaluation
    const raise = (category: string, key: string, title: string) =>
      openEscalation(s.db.prisma, s.env.client, 'escalations', {
        engagementId,
        severity: 'P2',
        category,
        title,
        description: title,
        raisedBy: 'workflow:lifecycle',
        raisedAt: new Date().toISOString(),
        key,
      }).then((r) => r.escalationId);
    const decision = await raise('renewal-decision', 'renewal/2027-01-01/council', 'Renewal decision is not made');
    const clientStep = await raise('exit-step', 'exit/FINAL_RECONCILIATION/overdue', 'FINAL_RECONCILIATION overdue');
    const vendorStep = await raise('exit-step', 'exit/KNOWLEDGE_RETRANSFER/overdue', 'KNOWLEDGE_RETRANSFER overdue');
    const overrun = await raise(
      'transition-overrun',
      'renewal/2027-01-01/transition-overrun',
      'Transition still running when the renewal is due to be evaluated',
    );

    // the vendor may not silence the reminders meant for the client's council or its finance team
    for (const [id, reason] of [
      [decision, "the renewal decision is the client's"],
      [clientStep, "exit step FINAL_RECONCILIATION is the client's (client finance)"],
      [overrun, "the renewal decision's window is the client's"],
    ]) {
      const refused = await vendor('POST', `/escalations/${id}/resolve`, { resolution: 'n/a' });
      expect([refused.status, refused.body.detail]).toEqual([
        403,
        `${reason}: a vendor key cannot resolve its escalation`,
      ]);
      expect((await vendor('POST', `/escalations/${id}/acknowledge`, {})).status).toBe(403);
    }
    expect(
      await s.db.prisma.escalationStep.count({ where: { escalationId: { in: [decision, clientStep, overrun] } } }),
    ).toBe(3);

    // the vendor answers for its own step; an executive (the council) answers the renewal decision's
    expect((await vendor('POST', `/escalations/${vendorStep}/acknowledge`, {})).status).toBe(200);
    const answered = await executive('POST', `/escalations/${decision}/resolve`, { resolution: 'decided: renew' });
    expect(answered.status).toBe(200);
    expect(answered.body.status).toBe('RESOLVED');
  });

  it('refuses to resolve a repeated issue without a root cause, and says so', async () => {
    const { pm, engagementId } = await anEngagementWithFastP1();
    const raise = (n: number) =>
      pm('POST', `/engagements/${engagementId}/escalations`, {
        severity: 'P3',
        category: 'billing',
        title: `Invoice error ${n}`,
        description: 'Wrong rates',
      });
    await raise(1);
    await raise(2);
    const third = (await raise(3)).body.escalationId;

    const refused = await pm('POST', `/escalations/${third}/resolve`, { resolution: 'rates corrected' });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toBe(
      'a root-cause analysis is required: this is a repeated issue (3 or more "billing" escalations within 90 days)',
    );
    expect((await s.db.prisma.escalation.findUniqueOrThrow({ where: { id: third } })).status).toBe('OPEN');

    const accepted = await pm('POST', `/escalations/${third}/resolve`, {
      resolution: 'rates corrected',
      rootCause: 'rate card not versioned',
    });
    expect(accepted.status).toBe(200);

    // resolving it again is refused with what happened, once its workflow has closed
    const again = await eventually(
      () => pm('POST', `/escalations/${third}/resolve`, { resolution: 'again', rootCause: 'again' }),
      (r) => r.status === 409 && /already resolved/.test(r.body.detail),
    );
    expect(again.body.detail).toMatch(/^the escalation is already resolved \(\d{4}-\d\d-\d\dT/);
  });

  it('reassigns and changes severity, recording each step; a vendor may not change severity', async () => {
    const { pm, vendor, engagementId } = await anEngagementWithFastP1();
    const id = (
      await pm('POST', `/engagements/${engagementId}/escalations`, {
        severity: 'P4',
        category: 'reporting',
        title: 'Late report',
        description: 'Weekly report late',
      })
    ).body.escalationId;
    await eventually(
      () => pm('GET', `/escalations/${id}`).then((r) => r.body.live),
      (l) => l !== null,
    );
    expect((await pm('POST', `/escalations/${id}/reassign`, { assignee: 'Priya (delivery head)' })).body.assignee).toBe(
      'Priya (delivery head)',
    );
    expect((await pm('POST', `/escalations/${id}/severity`, { severity: 'P2' })).body.severity).toBe('P2');
    expect((await vendor('POST', `/escalations/${id}/severity`, { severity: 'P1' })).status).toBe(403);
    const same = await pm('POST', `/escalations/${id}/severity`, { severity: 'P2' });
    expect([same.status, same.body.detail]).toEqual([409, 'the escalation is already P2']);
    const row = await s.db.prisma.escalation.findUniqueOrThrow({
      where: { id },
      include: { steps: { orderBy: { occurredAt: 'asc' } } },
    });
    expect(row.severity).toBe('P2');
    expect(row.steps.map((st) => st.action)).toEqual(['raised', 'reassigned', 'severity-changed']);
  });

  it('runs the reviews of past periods from the date the engagement sets, counting missing data as breaches', async () => {
    const { pm, engagementId } = await anEngagementWithFastP1();
    const notYet = await pm('POST', `/engagements/${engagementId}/governance`, {});
    expect([notYet.status, notYet.body.detail]).toEqual([
      409,
      'reviews start at steady state: give startOn to start them earlier',
    ]);

    // reviews from the first day of last month: last month's monthly review is due already
    const now = new Date();
    const startOn = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 10);
    expect((await pm('POST', `/engagements/${engagementId}/governance`, { startOn })).status).toBe(202);

    const monthly = await eventually(
      () =>
        pm('GET', `/engagements/${engagementId}/reviews`).then((r) =>
          r.body.items.filter((i: { cadence: string }) => i.cadence === 'MONTHLY'),
        ),
      (items) => items.length === 1,
    );
    expect(monthly[0].scorecard.kpis.map((k: { key: string; status: string }) => [k.key, k.status])).toEqual([
      ['aht', 'missing'],
      ['fcr', 'missing'],
    ]);
    const escalations = await eventually(
      () => pm('GET', `/engagements/${engagementId}/escalations`).then((r) => r.body.items),
      (items) => items.length === 2,
    );
    expect(escalations.map((e: { category: string; severity: string }) => [e.category, e.severity]).sort()).toEqual([
      ['aht', 'P2'],
      ['fcr', 'P2'],
    ]);
    const live = (await pm('GET', `/engagements/${engagementId}/governance`)).body.live;
    expect(live.reviewsDone).toBeGreaterThanOrEqual(1);
    expect(live.startAt).toBe(`${startOn}T00:00:00.000Z`);

    // a repeat finds the running reviews; a start from another date is refused, not ignored
    const repeat = await pm('POST', `/engagements/${engagementId}/governance`, { startOn });
    const later = new Date(Date.parse(startOn) + 86_400_000).toISOString().slice(0, 10);
    const other = await pm('POST', `/engagements/${engagementId}/governance`, { startOn: later });
    expect([repeat.status, other.status, other.body.detail]).toEqual([
      202,
      409,
      `reviews already run for this engagement from ${startOn}, not ${later}: see GET /engagements/${engagementId}/governance`,
    ]);
  });

  it('starts reviews once when starts ask for different first dates at the same moment, and refuses the others', async () => {
    const { pm, engagementId } = await anEngagementWithFastP1();
    const now = new Date();
    const firstOf = (monthsBack: number) =>
      new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - monthsBack, 1)).toISOString().slice(0, 10);
    // ten starts at once, alternating between two first dates
    const dates = Array.from({ length: 10 }, (_, i) => firstOf(1 + (i % 2)));

    const answers = await Promise.all(
      dates.map((startOn) => pm('POST', `/engagements/${engagementId}/governance`, { startOn })),
    );

    // the reviews run from one of them: every start that asked for it is answered 202, every other one 409
    const live = (await pm('GET', `/engagements/${engagementId}/governance`)).body.live;
    const from = live.startAt.slice(0, 10);
    expect(dates).toContain(from);
    expect(answers.map((a, i) => [dates[i], a.status])).toEqual(dates.map((d) => [d, d === from ? 202 : 409]));
    expect(answers.find((a) => a.status === 409)!.body.detail).toBe(
      `reviews already run for this engagement from ${from}, not ${dates.find((d) => d !== from)}: see GET /engagements/${engagementId}/governance`,
    );
  });
});
