import type { Client } from '@temporalio/client';
import { createLifecycleActivities } from '../../activities/lifecycle';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

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
});
