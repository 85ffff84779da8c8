import { newId } from '../ids';
import type { PrismaClient } from '../db';
import { periodAt } from '../domain/calendar';
import { DEFAULT_ESCALATION_POLICIES } from '../domain/defaults';
import { createGovernanceActivities } from '../../activities/governance';
import { demoPortfolio } from './portfolio';

/**
 * Writes the demo portfolio. Idempotent: vendors are matched by legal name and an engagement already seeded
 * (same vendor and name) is left alone, so running it twice changes nothing.
 */
export async function loadDemoPortfolio(prisma: PrismaClient, opts: { engagements: number; today?: Date }) {
  const today = opts.today ?? new Date();
  const portfolio = demoPortfolio({ engagements: opts.engagements, today });
  const vendorIds: string[] = [];
  for (const v of portfolio.vendors) {
    const existing = await prisma.vendor.findUnique({ where: { legalName: v.legalName } });
    const vendor =
      existing ??
      (await prisma.vendor.create({
        data: {
          legalName: v.legalName,
          deliveryModel: v.deliveryModel,
          serviceLines: v.serviceLines,
          certifications: { create: v.certifications.map((c) => ({ kind: c.kind, expiresOn: new Date(c.expiresOn) })) },
          contacts: { create: v.contacts },
        },
      }));
    vendorIds.push(vendor.id);
  }

  let created = 0;
  let measurements = 0;
  /** The engagements this run seeded: the only ones it reviews (a run stopped before its reviews is not repaired). */
  const seeded: string[] = [];
  for (const e of portfolio.engagements) {
    const vendorId = vendorIds[e.vendorIndex];
    const existing = await prisma.engagement.findFirst({
      where: { vendorId, name: e.name, clientOrganisation: e.clientOrganisation },
      select: { id: true },
    });
    // Reviewed when it was seeded: reviewing it again in a later month would score a month it has no data for.
    if (existing) continue;
    await prisma.$transaction(async (tx) => {
      const engagement = await tx.engagement.create({
        data: {
          vendorId,
          name: e.name,
          clientOrganisation: e.clientOrganisation,
          processesInScope: e.processesInScope,
          sourcingApproach: e.sourcingApproach,
          termStart: new Date(e.termStart),
          termEnd: new Date(e.termEnd),
          monthlyFee: e.monthlyFee,
          currency: e.currency,
          renewalNoticeDays: e.renewalNoticeDays,
          autoRenew: e.autoRenew,
          atRiskPct: e.atRiskPct,
          stage: e.stage,
          exitTriggers: [
            'material breach uncured for 30 days',
            'three consecutive months below minimum on a critical SLA',
          ],
          escalationLevels: {
            create: [
              { level: 1, role: 'operations lead', contactName: 'Ops lead', contactEmail: 'ops@vendor.example' },
              { level: 2, role: 'account manager', contactName: 'Account manager', contactEmail: 'am@vendor.example' },
              { level: 3, role: 'delivery head', contactName: 'Delivery head', contactEmail: 'head@vendor.example' },
              {
                level: 4,
                role: 'governance council',
                contactName: 'Executive sponsor',
                contactEmail: 'sponsor@client.example',
              },
            ],
          },
          escalationPolicies: { create: [...DEFAULT_ESCALATION_POLICIES] },
          councilMembers: {
            create: [
              { name: 'Executive sponsor', email: 'sponsor@client.example', role: 'EXECUTIVE_SPONSOR' },
              { name: 'Program manager', email: 'pm@client.example', role: 'PROGRAM_MANAGER' },
            ],
          },
          slas: {
            create: e.slas.map(({ creditTiers, ...sla }) => ({
              ...sla,
              measurementPeriod: 'MONTHLY',
              creditTiers: { create: creditTiers },
            })),
          },
        },
        include: { slas: true },
      });
      const slaIds = e.slas.map((t) => engagement.slas.find((s) => s.key === t.key)!.id);
      const submissions = e.months.map((m) => ({ id: newId(), ...m }));
      await tx.kpiSubmission.createMany({
        data: submissions.map((s) => ({
          id: s.id,
          engagementId: engagement.id,
          periodStart: new Date(s.periodStart),
          periodEnd: new Date(s.periodEnd),
          source: 'seed',
          submittedBy: 'seed',
        })),
      });
      const rows = submissions.flatMap((s) =>
        s.values.map((value, k) => ({
          engagementId: engagement.id,
          slaId: slaIds[k],
          submissionId: s.id,
          periodStart: new Date(s.periodStart),
          periodEnd: new Date(s.periodEnd),
          value,
          version: 1,
          source: 'seed',
          submittedBy: 'seed',
        })),
      );
      await tx.kpiMeasurement.createMany({ data: rows });
      measurements += rows.length;
      seeded.push(engagement.id);
    });
    created++;
  }
  const reviews = await reviewRecentMonths(prisma, today, seeded);
  return { vendors: vendorIds.length, engagements: created, measurements, reviews };
}

/**
 * Scores the last three calendar months of the engagements this run seeded past their transition (their data runs
 * to this month), with the same review activity the governance workflow runs, so the portfolio shows scores, trends
 * and credits. Idempotent like the activity. Engagements the seed did not write, or wrote on an earlier run, are
 * never touched.
 */
async function reviewRecentMonths(prisma: PrismaClient, today: Date, seeded: string[]): Promise<number> {
  const { conductReview } = createGovernanceActivities(prisma);
  const engagements = await prisma.engagement.findMany({
    where: { id: { in: seeded }, stage: { in: ['STEADY_STATE', 'RENEWAL', 'EXIT'] } },
    select: { id: true, timeZone: true },
  });
  let reviews = 0;
  for (const e of engagements) {
    for (let back = 3; back >= 1; back--) {
      // The month as governance would review it: on the engagement's calendar.
      const midMonth = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - back, 15);
      await conductReview({
        engagementId: e.id,
        period: periodAt('MONTHLY', midMonth, e.timeZone),
        timeZone: e.timeZone,
      });
      reviews++;
    }
  }
  return reviews;
}
