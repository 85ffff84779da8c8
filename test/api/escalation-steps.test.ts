import type { Client } from '@temporalio/client';
import { createEscalationActivities } from '../../activities/escalations';
import { anEngagement, aVendor } from '../builders/engagement';
import { startApiFixture } from '../helpers/api-fixture';

type Fixture = Awaited<ReturnType<typeof startApiFixture>>;

/** The escalation-step activity against a real PostgreSQL: each step once, however often it is retried. */
describe('recording escalation steps', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startApiFixture();
  });
  afterAll(() => f.close());

  async function anEscalation(): Promise<string> {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId));
    const escalation = await f.db.prisma.escalation.create({
      data: {
        engagementId: e.id,
        severity: 'P3',
        category: 'fcr',
        title: 'fcr breached its minimum',
        description: 'fcr was 65',
        raisedBy: 'workflow:governance',
      },
    });
    return escalation.id;
  }

  /** The activity under test: recording a step starts no workflow, so it needs no Temporal client. */
  const recordEscalationStep: ReturnType<typeof createEscalationActivities>['recordEscalationStep'] = (input) =>
    createEscalationActivities(f.db.prisma, {} as Client, 'unused').recordEscalationStep(input);

  it('stores a step, the escalation’s new state and its audit entry once, when retried and when run twice at once', async () => {
    const escalationId = await anEscalation();
    const acknowledged = {
      escalationId,
      stepNumber: 2,
      step: {
        level: 1,
        action: 'acknowledged' as const,
        at: '2026-10-02T09:30:00.000Z',
        actor: 'vendor:ops',
        note: 'on it',
      },
      update: { status: 'ACKNOWLEDGED' as const },
    };

    // when the step is recorded, retried, and then run twice at once
    await recordEscalationStep(acknowledged);
    await recordEscalationStep(acknowledged);
    await Promise.all([recordEscalationStep(acknowledged), recordEscalationStep(acknowledged)]);

    // then it exists once, the escalation is acknowledged at the step's time, and it is audited once
    const steps = await f.db.prisma.escalationStep.findMany({ where: { escalationId } });
    expect(steps.map((s) => [s.action, s.level, s.actor, s.note, s.occurredAt.toISOString()])).toEqual([
      ['acknowledged', 1, 'vendor:ops', 'on it', '2026-10-02T09:30:00.000Z'],
    ]);
    const escalation = await f.db.prisma.escalation.findUniqueOrThrow({ where: { id: escalationId } });
    expect(escalation).toMatchObject({ status: 'ACKNOWLEDGED', currentLevel: 1, resolvedAt: null });
    expect(escalation.acknowledgedAt?.toISOString()).toBe('2026-10-02T09:30:00.000Z');
    const audit = await f.db.prisma.auditLog.findMany({ where: { entityId: escalationId } });
    expect(audit.map((a) => [a.action, a.actor, a.after])).toEqual([
      ['escalation.acknowledged', 'vendor:ops', { status: 'ACKNOWLEDGED', note: 'on it' }],
    ]);
  });

  it('changes only the fields a step names, and audits only what a person did', async () => {
    const escalationId = await anEscalation();
    await recordEscalationStep({
      escalationId,
      stepNumber: 2,
      step: { level: 2, action: 'climbed', at: '2026-10-03T09:00:00.000Z', actor: 'system', note: 'not acknowledged' },
      update: { currentLevel: 2 },
    });
    await recordEscalationStep({
      escalationId,
      stepNumber: 3,
      step: { level: 2, action: 'resolved', at: '2026-10-04T10:00:00.000Z', actor: 'vendor:ops', note: 'retrained' },
      update: { status: 'RESOLVED', resolution: 'retrained', rootCause: 'staffing gap' },
    });

    const escalation = await f.db.prisma.escalation.findUniqueOrThrow({ where: { id: escalationId } });
    expect(escalation).toMatchObject({
      status: 'RESOLVED',
      currentLevel: 2,
      severity: 'P3',
      assignee: null,
      acknowledgedAt: null,
      resolution: 'retrained',
      rootCause: 'staffing gap',
    });
    expect(escalation.resolvedAt?.toISOString()).toBe('2026-10-04T10:00:00.000Z');
    const audit = await f.db.prisma.auditLog.findMany({ where: { entityId: escalationId } });
    expect(audit.map((a) => a.action)).toEqual(['escalation.resolved']);
  });

  it('fails for an escalation that does not exist, and stores nothing', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    await expect(
      recordEscalationStep({
        escalationId: missing,
        stepNumber: 2,
        step: { level: 1, action: 'acknowledged', at: '2026-10-02T09:30:00.000Z', actor: 'vendor:ops' },
        update: { status: 'ACKNOWLEDGED' },
      }),
    ).rejects.toThrow();
    expect(await f.db.prisma.escalationStep.count({ where: { escalationId: missing } })).toBe(0);
    expect(await f.db.prisma.auditLog.count({ where: { entityId: missing } })).toBe(0);
  });
});
