import type { Client } from '@temporalio/client';
import { openEscalation, type OpenEscalationInput } from '../../activities/escalations';
import { escalationWorkflowId } from '../../src/domain/escalation';
import { ORPHAN_AGE_MS, startOrphanedEscalations } from '../../src/temporal/orphaned-escalations';
import { anEngagement, aVendor } from '../builders/engagement';
import { rowCounts } from '../helpers/api-fixture';
import { eventually } from '../helpers/wait';
import {
  spawnWorkerProcess,
  startStackForWorkerProcesses,
  type StackForWorkerProcesses,
} from '../helpers/worker-process';

/**
 * The API stores an escalation and then starts its workflow; a process killed between the two leaves a row that
 * would never climb. Every worker process sweeps for such rows and starts their workflows.
 */
describe('escalations stored without a workflow (the API killed between its insert and the start)', () => {
  const taskQueue = 'orphaned-escalations';
  let s: StackForWorkerProcesses;
  beforeAll(async () => {
    s = await startStackForWorkerProcesses(taskQueue);
  });
  afterAll(async () => {
    for (const { id } of await s.db.prisma.escalation.findMany())
      await s.client.workflow
        .getHandle(escalationWorkflowId(id))
        .terminate('test over')
        .catch(() => undefined);
    await s.close();
  });

  /** The insert of a raise whose process died before the start: what the API leaves behind. */
  const diedBeforeTheStart = { workflow: { start: () => Promise.reject(new Error('the API process died here')) } };
  const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
  const raise = (engagementId: string, title: string, raisedAt: string): OpenEscalationInput => ({
    engagementId,
    severity: 'P2',
    category: 'billing',
    title,
    description: 'Credits are missing from the invoice',
    raisedBy: 'program_manager:pm',
    raisedAt,
    key: `api/${title}`,
  });
  const orphan = async (input: OpenEscalationInput) => {
    await expect(
      openEscalation(s.db.prisma, diedBeforeTheStart as unknown as Client, taskQueue, input),
    ).rejects.toThrow('the API process died here');
    return (await s.db.prisma.escalation.findUniqueOrThrow({
      where: { idempotencyKey: `${input.engagementId}/${input.key}` },
    }))!.id;
  };
  const statusOf = (id: string) =>
    s.client.workflow
      .getHandle(escalationWorkflowId(id))
      .describe()
      .then(
        (d) => ({ status: d.status.name, runId: d.runId }),
        () => ({ status: 'NONE', runId: undefined }),
      );

  async function anEngagementNamed(name: string) {
    const pm = await s.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const created = await pm('POST', '/engagements', anEngagement(vendorId, { name }));
    expect(created.status).toBe(201);
    return created.body.id as string;
  }

  it('starts the workflow of each open one older than two minutes, once, and of no other', async () => {
    expect(ORPHAN_AGE_MS).toBe(2 * 60_000);
    const engagementId = await anEngagementNamed('Claims processing');
    const closedId = await anEngagementNamed('Payroll');
    const orphaned = await orphan(raise(engagementId, 'old orphan', minutesAgo(5)));
    // Maybe still being raised (or taken back after a failed start): not its business yet.
    const young = await orphan(raise(engagementId, 'young orphan', minutesAgo(0)));
    const resolved = await orphan(raise(engagementId, 'resolved orphan', minutesAgo(5)));
    await s.db.prisma.escalation.update({ where: { id: resolved }, data: { status: 'RESOLVED' } });
    const onClosed = await orphan(raise(closedId, 'orphan of a closed engagement', minutesAgo(5)));
    await s.db.prisma.engagement.update({ where: { id: closedId }, data: { stage: 'CLOSED' } });
    const { escalationId: started } = await openEscalation(
      s.db.prisma,
      s.client,
      taskQueue,
      raise(engagementId, 'started normally', minutesAgo(5)),
    );
    const startedRun = await statusOf(started);
    expect(startedRun.status).toBe('RUNNING');
    const before = await rowCounts(s.db.prisma);

    const confirmed = new Set<string>();
    expect(await startOrphanedEscalations({ prisma: s.db.prisma, client: s.client, taskQueue }, confirmed)).toEqual([
      orphaned,
    ]);
    expect((await statusOf(orphaned)).status).toBe('RUNNING');
    for (const id of [young, resolved, onClosed]) expect((await statusOf(id)).status).toBe('NONE');
    expect(await statusOf(started)).toEqual(startedRun);
    // The start went through the raise under its stored key: it found the row and wrote nothing.
    expect(await rowCounts(s.db.prisma)).toEqual(before);
    expect([...confirmed].sort()).toEqual([orphaned, started].sort());

    // The next sweep finds nothing to do and describes nothing again.
    const orphanRun = await statusOf(orphaned);
    expect(await startOrphanedEscalations({ prisma: s.db.prisma, client: s.client, taskQueue }, confirmed)).toEqual([]);
    expect(await statusOf(orphaned)).toEqual(orphanRun);
    // Resolved since, it is forgotten.
    await s.db.prisma.escalation.update({ where: { id: started }, data: { status: 'RESOLVED' } });
    await startOrphanedEscalations({ prisma: s.db.prisma, client: s.client, taskQueue }, confirmed);
    expect([...confirmed]).toEqual([orphaned]);
  });

  it('keeps the row of a raise whose start timed out (it may have started), and takes back one that never reached Temporal', async () => {
    const engagementId = await anEngagementNamed('Data entry');
    const failingWith = (code: number, message: string) =>
      ({
        workflow: { start: () => Promise.reject(Object.assign(new Error(message), { code })) },
      }) as unknown as Client;
    const asTheApiRaises = (title: string) => ({ ...raise(engagementId, title, minutesAgo(0)), undoUnstarted: true });
    await expect(
      openEscalation(
        s.db.prisma,
        failingWith(4, '4 DEADLINE_EXCEEDED: Deadline exceeded'),
        taskQueue,
        asTheApiRaises('timed out'),
      ),
    ).rejects.toThrow('DEADLINE_EXCEEDED');
    await expect(
      openEscalation(
        s.db.prisma,
        failingWith(14, '14 UNAVAILABLE: No connection established'),
        taskQueue,
        asTheApiRaises('unreachable'),
      ),
    ).rejects.toThrow('UNAVAILABLE');
    const kept = await s.db.prisma.escalation.findMany({ where: { engagementId }, include: { steps: true } });
    expect(kept.map((e) => [e.title, e.steps.length])).toEqual([['timed out', 1]]);
  });

  it('is swept by a worker process as it starts: the escalation climbs from its first level', async () => {
    const engagementId = await anEngagementNamed('Customer support');
    const orphaned = await orphan(raise(engagementId, 'left by a killed API', minutesAgo(3)));
    const worker = spawnWorkerProcess({ databaseUrl: s.db.url, taskQueue });
    await worker.ready;
    // The workflow runs on the worker: its first level is told, which the insert alone never does.
    const notices = await eventually(
      () => s.db.prisma.notification.findMany({ where: { engagementId } }),
      (found) => found.length > 0,
      60_000,
    );
    expect(notices.map((n) => n.eventKey)).toEqual([expect.stringContaining(orphaned)]);
    expect((await statusOf(orphaned)).status).toBe('RUNNING');
    await worker.kill('SIGTERM');
  });
});
