import type { Client } from '@temporalio/client';
import pg from 'pg';
import {
  createEscalationActivities,
  EngagementClosing,
  openEscalation,
  type OpenEscalationInput,
} from '../../activities/escalations';
import { anEngagement, aVendor } from '../builders/engagement';
import { startApiFixture } from '../helpers/api-fixture';
import { lockWaiters } from '../helpers/database';
import { eventually } from '../helpers/wait';
import type { EscalationState } from '../../workflows/escalation.messages';

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

  it('moves status and level only forward when steps are written out of order (a retried write landing late)', async () => {
    const escalationId = await anEscalation();
    const step = (
      stepNumber: number,
      action: 'climbed' | 'acknowledged' | 'resolved',
      at: string,
      update: Record<string, unknown>,
    ) =>
      recordEscalationStep({
        escalationId,
        stepNumber,
        step: { level: 2, action, at, actor: action === 'climbed' ? 'system' : 'vendor:ops' },
        update,
      });
    // the climb to 3 and the resolution are written before the climb to 2 and the acknowledgement that came first
    await step(3, 'climbed', '2026-10-03T09:00:00.000Z', { currentLevel: 3 });
    await step(5, 'resolved', '2026-10-04T10:00:00.000Z', { status: 'RESOLVED', resolution: 'fixed' });
    await step(2, 'climbed', '2026-10-02T09:00:00.000Z', { currentLevel: 2 });
    await step(4, 'acknowledged', '2026-10-03T12:00:00.000Z', { status: 'ACKNOWLEDGED' });

    const escalation = await f.db.prisma.escalation.findUniqueOrThrow({ where: { id: escalationId } });
    // it used to read ACKNOWLEDGED at level 2: open again, though resolved and its workflow done
    expect(escalation).toMatchObject({ status: 'RESOLVED', currentLevel: 3, resolution: 'fixed' });
    expect(escalation.acknowledgedAt?.toISOString()).toBe('2026-10-03T12:00:00.000Z');
    expect(escalation.resolvedAt?.toISOString()).toBe('2026-10-04T10:00:00.000Z');
    expect(await f.db.prisma.escalationStep.count({ where: { escalationId } })).toBe(4);
  });

  it('keeps the latest step’s severity and assignee when an earlier one’s write lands late', async () => {
    const escalationId = await anEscalation();
    const step = (
      stepNumber: number,
      action: 'severity-changed' | 'reassigned',
      update: { severity?: 'P1' | 'P2'; assignee?: string },
    ) =>
      recordEscalationStep({
        escalationId,
        stepNumber,
        step: { level: 1, action, at: `2026-10-02T09:0${stepNumber}:00.000Z`, actor: 'pm' },
        update,
      });
    // re-graded P1 (step 2) then P2 (step 4), reassigned to Dana (3) then Ravi (5): the later steps are written first
    await step(4, 'severity-changed', { severity: 'P2' });
    await step(5, 'reassigned', { assignee: 'ravi' });
    await step(2, 'severity-changed', { severity: 'P1' });
    await step(3, 'reassigned', { assignee: 'dana' });

    // it used to read P1 and Dana, whoever's write committed last
    const escalation = await f.db.prisma.escalation.findUniqueOrThrow({ where: { id: escalationId } });
    expect(escalation).toMatchObject({ severity: 'P2', assignee: 'ravi' });
    expect(await f.db.prisma.escalationStep.count({ where: { escalationId } })).toBe(4);
    // ... and a step after them all takes effect
    await step(6, 'severity-changed', { severity: 'P1' });
    expect(await f.db.prisma.escalation.findUniqueOrThrow({ where: { id: escalationId } })).toMatchObject({
      severity: 'P1',
      assignee: 'ravi',
    });
  });

  it('keeps the latest step’s severity when an earlier one’s write waited on the row while the later one committed', async () => {
    const escalationId = await anEscalation();
    const regrade = (stepNumber: number, severity: 'P1' | 'P2') =>
      recordEscalationStep({
        escalationId,
        stepNumber,
        step: { level: 1, action: 'severity-changed', at: `2026-10-02T09:0${stepNumber}:00.000Z`, actor: 'pm' },
        update: { severity },
      });
    const holder = new pg.Client({ connectionString: f.db.url });
    await holder.connect();
    const waiting = (n: number) =>
      eventually(
        () => lockWaiters(holder),
        (count) => count >= n,
      );
    try {
      // given the escalation's row held (another write in progress)
      const locker = new pg.Client({ connectionString: f.db.url });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM "Escalation" WHERE "id" = $1 FOR UPDATE`, [escalationId]);
      // when the re-grade to P2 (step 3) and then the earlier one to P1 (step 2) wait for it, in that order
      const later = regrade(3, 'P2');
      await waiting(1);
      const earlier = regrade(2, 'P1');
      await waiting(2);
      await locker.query('COMMIT');
      await locker.end();
      await Promise.all([later, earlier]);
    } finally {
      await holder.end();
    }

    // then the later step's severity stands: the earlier write, its snapshot taken before the later one committed,
    // used to find no later step and write P1 over it
    const escalation = await f.db.prisma.escalation.findUniqueOrThrow({ where: { id: escalationId } });
    expect(escalation.severity).toBe('P2');
    expect(await f.db.prisma.escalationStep.count({ where: { escalationId } })).toBe(2);
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

  describe('raising an escalation', () => {
    /** Records the workflow starts instead of sending them: what is under test here is what is stored. */
    function recordingClient() {
      const starts: Array<{ workflowId: string; input: Record<string, unknown> }> = [];
      const client = {
        workflow: {
          start: async (_type: string, options: { workflowId: string; args: [Record<string, unknown>] }) => {
            starts.push({ workflowId: options.workflowId, input: options.args[0] });
          },
        },
      } as unknown as Client;
      return { client, starts };
    }

    async function anEngagementWithMatrix(): Promise<string> {
      const pm = await f.api.as('PROGRAM_MANAGER');
      const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
      const { body: e } = await pm(
        'POST',
        '/engagements',
        anEngagement(vendorId, {
          escalationLevels: [
            { level: 2, role: 'head of delivery', contactName: 'Ana', contactEmail: 'ana@x.test' },
            { level: 1, role: 'team lead', contactName: 'Bo', contactEmail: 'bo@x.test' },
          ],
          escalationPolicies: [{ severity: 'P3', acknowledgeWithin: '10m', resolveWithin: '2h' }],
        }),
      );
      expect(e.id).toBeDefined();
      return e.id;
    }

    const raising = (engagementId: string, key: string, raisedAt: string): OpenEscalationInput => ({
      engagementId,
      severity: 'P3',
      category: 'csat',
      title: 'csat breached its minimum',
      description: 'csat was 70',
      raisedBy: 'workflow:governance',
      raisedAt,
      key,
    });

    it('raises nothing once the exit is complete, waiting for a closing that is completing it, and answers one raised before', async () => {
      const engagementId = await anEngagementWithMatrix();
      const { client, starts } = recordingClient();
      const raise = (input: OpenEscalationInput) => openEscalation(f.db.prisma, client, 'q', input);
      await f.db.prisma.exitPlan.create({ data: { engagementId, reason: 'not renewed' } });
      // an exit still running: raised
      const before = await raise(raising(engagementId, 'api/before-closing', '2026-10-03T09:00:00.000Z'));
      expect(before.created).toBe(true);

      // when closing completes the plan in a transaction still open, a raise made meanwhile waits for it
      const closing = new pg.Client({ connectionString: f.db.url });
      await closing.connect();
      try {
        await closing.query('BEGIN');
        await closing.query(`UPDATE "ExitPlan" SET "completedAt" = now() WHERE "engagementId" = $1`, [engagementId]);
        let settled = false;
        const during = raise(raising(engagementId, 'api/while-closing', '2026-10-03T09:01:00.000Z')).finally(() => {
          settled = true;
        });
        // it is waiting on the plan's row lock (PostgreSQL says so), not finished
        await eventually(
          () => lockWaiters(closing),
          (n) => n > 0,
        );
        expect(settled).toBe(false);
        await closing.query('COMMIT');

        // then it is refused as on a closed engagement, and stores nothing; so is a raise after
        await expect(during).rejects.toBeInstanceOf(EngagementClosing);
        await expect(
          raise(raising(engagementId, 'api/after-closing', '2026-10-03T09:02:00.000Z')),
        ).rejects.toBeInstanceOf(EngagementClosing);
      } finally {
        await closing.end();
      }
      // through the API (the engagement still reads EXIT): 409, as on a closed engagement
      const pm = await f.api.as('PROGRAM_MANAGER');
      const viaApi = await pm('POST', `/engagements/${engagementId}/escalations`, {
        severity: 'P2',
        category: 'exit',
        title: 'data not returned',
        description: 'raised as the engagement closes',
      });
      expect([viaApi.status, viaApi.body.detail]).toEqual([
        409,
        'the engagement is closed: nothing can be escalated on it',
      ]);
      const stored = await f.db.prisma.escalation.findMany({ where: { engagementId } });
      expect(stored.map((e) => e.id)).toEqual([before.escalationId]);
      expect(starts.map((s) => s.workflowId)).toEqual([before.workflowId]);
      // and the raise made before, retried under its key, still gets its escalation back
      const retried = await raise(raising(engagementId, 'api/before-closing', '2026-10-03T09:00:00.000Z'));
      expect(retried).toEqual({ ...before, created: false });
    });

    it('stops the workflow of a raise whose row the closure resolved in place before the workflow started', async () => {
      const engagementId = await anEngagementWithMatrix();
      await f.db.prisma.exitPlan.create({ data: { engagementId, reason: 'not renewed' } });
      const resolution = 'engagement closed on 2027-01-01: the vendor has left, no further action';
      const closureResolves = () =>
        f.db.prisma.escalation.updateMany({
          where: { engagementId, status: { not: 'RESOLVED' } },
          data: { status: 'RESOLVED', resolution, rootCause: 'none found: the engagement closed' },
        });
      const asked: Array<{ workflowId: string; resolution: string; rootCause: string }> = [];
      const terminated: string[] = [];
      const clientWhere = (closureFirst: boolean, workflowAnswers = true) =>
        ({
          withDeadline: (_deadline: number, call: () => Promise<unknown>) => call(),
          workflow: {
            start: async () => {
              // the closure's sweep finds the row with no workflow and resolves it, just before the start lands
              if (closureFirst) await closureResolves();
            },
            getHandle: (workflowId: string) => ({
              executeUpdate: async (
                _u: unknown,
                { args: [a] }: { args: [{ resolution: string; rootCause: string }] },
              ) => {
                asked.push({ workflowId, resolution: a.resolution, rootCause: a.rootCause });
                if (!workflowAnswers) throw new Error('aborted: no answer');
              },
              terminate: async () => void terminated.push(workflowId),
            }),
          },
        }) as unknown as Client;
      const raise = (client: Client, key: string) =>
        openEscalation(f.db.prisma, client, 'q', raising(engagementId, key, '2026-10-03T09:00:00.000Z'));

      // a raise on an exiting engagement the closure does not reach: its workflow climbs, nothing is asked of it
      await raise(clientWhere(false), 'api/exiting');
      expect([asked, terminated]).toEqual([[], []]);
      await closureResolves();

      // one the closure resolved in place before its workflow started: that workflow is resolved with the row's answer
      const raced = await raise(clientWhere(true), 'api/as-it-closes');
      expect(asked).toEqual([
        { workflowId: raced.workflowId, resolution, rootCause: 'none found: the engagement closed' },
      ]);
      expect(terminated).toEqual([]);

      // and one whose workflow does not take the resolution is terminated; so is it when its raise is retried
      const stuck = await raise(clientWhere(true, false), 'api/stuck');
      expect(terminated).toEqual([stuck.workflowId]);
      await raise(clientWhere(false, false), 'api/stuck');
      expect(terminated).toEqual([stuck.workflowId, stuck.workflowId]);
    });

    it('hands a run taking up an escalation its stored steps, and the numbers it must skip after a lost one', async () => {
      const engagementId = await anEngagementWithMatrix();
      const { client, starts } = recordingClient();
      const input = raising(engagementId, 'api/lost-step', '2026-10-03T09:00:00.000Z');
      const { escalationId } = await openEscalation(f.db.prisma, client, 'q', input);
      // steps 2 and 4 stored by its workflow; step 3's write was lost with the run
      for (const [stepNumber, minute] of [
        [2, 15],
        [4, 45],
      ])
        await recordEscalationStep({
          escalationId,
          stepNumber,
          step: { level: stepNumber - 1, action: 'climbed', at: `2026-10-03T09:${minute}:00.000Z`, actor: 'system' },
          update: { currentLevel: stepNumber - 1 },
        });

      // when the key is sent again (its workflow gone), the run started takes up the stored steps
      await openEscalation(f.db.prisma, client, 'q', input);
      const resume = (starts[1].input as { resume: EscalationState }).resume;
      expect(resume.steps.map((s) => [s.action, s.level])).toEqual([
        ['raised', 1],
        ['climbed', 1],
        ['climbed', 3],
      ]);
      expect(resume.skippedSteps).toBe(1);
    });

    it('stores the escalation, its first step and its audit entry once, when retried and when run twice at once', async () => {
      const engagementId = await anEngagementWithMatrix();
      const { client, starts } = recordingClient();
      const raise = (input: OpenEscalationInput) => openEscalation(f.db.prisma, client, 'q', input);
      const input = raising(engagementId, 'review/MONTHLY/2026-09-01/csat', '2026-10-03T09:00:00.000Z');

      // when it is raised, retried, and then raised twice at once
      const first = await raise(input);
      await raise(input);
      const twins = await Promise.all([raise(input), raise(input)]);

      // then every call answers with the same escalation, stored once with one step and one audit entry; only the
      // first says it created it
      expect(first.created).toBe(true);
      expect(twins).toEqual([
        { ...first, created: false },
        { ...first, created: false },
      ]);
      const stored = await f.db.prisma.escalation.findMany({ where: { engagementId }, include: { steps: true } });
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({ id: first.escalationId, status: 'OPEN', requiresRootCause: false });
      expect(stored[0].raisedAt.toISOString()).toBe('2026-10-03T09:00:00.000Z');
      expect(stored[0].steps.map((s) => [s.action, s.level, s.actor, s.note])).toEqual([
        ['raised', 1, 'workflow:governance', 'csat was 70'],
      ]);
      const audit = await f.db.prisma.auditLog.findMany({ where: { entityId: first.escalationId } });
      expect(audit.map((a) => [a.action, a.actor])).toEqual([['escalation.raise', 'workflow:governance']]);
      expect(audit[0].after).toMatchObject({
        id: first.escalationId,
        status: 'OPEN',
        raisedAt: '2026-10-03T09:00:00.000Z',
        requiresRootCause: false,
      });
      // and each call starts (or finds) the same workflow with the engagement's matrix and policies
      expect(new Set(starts.map((s) => s.workflowId))).toEqual(new Set([first.workflowId]));
      expect(starts[0].input).toMatchObject({
        escalationId: first.escalationId,
        severity: 'P3',
        raisedAt: '2026-10-03T09:00:00.000Z',
        timeZone: 'UTC',
        requiresRootCause: false,
        levels: [
          { level: 1, role: 'team lead', contactName: 'Bo', contactEmail: 'bo@x.test' },
          { level: 2, role: 'head of delivery', contactName: 'Ana', contactEmail: 'ana@x.test' },
        ],
      });
      expect((starts[0].input.policies as Record<string, unknown>).P3).toEqual({
        acknowledgeSeconds: 600,
        resolveSeconds: 7200,
        businessHours: false,
      });
    });

    it('requires a root cause from the third escalation of one category within the window', async () => {
      const engagementId = await anEngagementWithMatrix();
      const { client } = recordingClient();
      const raise = (key: string, raisedAt: string) =>
        openEscalation(f.db.prisma, client, 'q', raising(engagementId, key, raisedAt));
      await raise('a', '2026-01-01T00:00:00.000Z');
      await raise('b', '2026-05-01T00:00:00.000Z');
      await raise('c', '2026-06-01T00:00:00.000Z');
      await raise('d', '2026-06-02T00:00:00.000Z');
      const stored = await f.db.prisma.escalation.findMany({ where: { engagementId }, orderBy: { raisedAt: 'asc' } });
      // the first is outside the 90 days before the third, so the fourth is the first to require one
      expect(stored.map((e) => e.requiresRootCause)).toEqual([false, false, false, true]);
    });

    it('sends the first level its notice itself, or leaves it to the workflow when the notifier fails', async () => {
      const engagementId = await anEngagementWithMatrix();
      const { client, starts } = recordingClient();
      const notices: Array<{ eventKey: string; recipient: { role: string }; subject: string }> = [];
      const notifying = async (notice: (typeof notices)[number]) => {
        notices.push(notice);
        return { sent: true };
      };
      const failing = async () => {
        throw new Error('webhook refused the notice');
      };
      const sent = await openEscalation(
        f.db.prisma,
        client,
        'q',
        raising(engagementId, 'announced', '2026-10-03T09:00:00.000Z'),
        notifying,
      );
      await openEscalation(
        f.db.prisma,
        client,
        'q',
        raising(engagementId, 'not-announced', '2026-10-04T09:00:00.000Z'),
        failing,
      );
      expect(notices).toEqual([
        expect.objectContaining({
          eventKey: `escalation/${sent.escalationId}/step-1`,
          recipient: expect.objectContaining({ role: 'team lead' }),
          subject: '[P3] csat breached its minimum: raised',
        }),
      ]);
      expect(starts.map((s) => s.input.announced)).toEqual([true, false]);
    });

    it('fails for an engagement that does not exist, and stores nothing', async () => {
      const missing = '00000000-0000-4000-8000-000000000001';
      const { client, starts } = recordingClient();
      await expect(
        openEscalation(f.db.prisma, client, 'q', raising(missing, 'x', '2026-10-03T09:00:00.000Z')),
      ).rejects.toThrow();
      expect(await f.db.prisma.escalation.count({ where: { engagementId: missing } })).toBe(0);
      expect(starts).toHaveLength(0);
    });
  });
});
