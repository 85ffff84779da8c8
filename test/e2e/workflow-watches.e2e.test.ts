import { lifecycleWorkflowId } from '../../src/domain/lifecycle';
import { transitionWorkflowId } from '../../workflows/transition.messages';
import { anEngagement, aVendor } from '../builders/engagement';
import { startTestApi, type TestApi } from '../helpers/app';
import { startDevStack, type DevStack } from '../helpers/dev-worker';
import { eventually } from '../helpers/wait';

const PERIOD_MS = 200;
const LONG_TRANSITION = {
  phases: [
    { kind: 'PILOT', name: 'wave-1', volumePct: 50, minDuration: '30d' },
    { kind: 'RAMP_WAVE', name: 'wave-2', volumePct: 100, minDuration: '30d' },
  ],
};

/**
 * What keeps a cached GET /engagements/:id current without asking Temporal on every refresh: a watch (a long poll on
 * the lifecycle's history) while it runs, and, while none runs, the announcement every API process makes of a start.
 * A second API process (`other`, a short read cache period) reads what the stack's API process starts.
 */
describe('live state kept current by watches and announcements', () => {
  let s: DevStack;
  let other: TestApi;
  let describes: jest.SpyInstance;
  beforeAll(async () => {
    s = await startDevStack('workflow-watches');
    other = await startTestApi({
      prisma: s.db.prisma,
      databaseUrl: s.db.url,
      temporal: s.env.client,
      taskQueue: s.taskQueue,
      readCacheMs: PERIOD_MS,
      watchWorkflows: true,
    });
    describes = jest.spyOn(s.env.client.workflowService, 'describeWorkflowExecution');
  });
  afterAll(async () => {
    describes.mockRestore();
    await other.close();
    await s.close();
  });

  /** The test's own look at a run (before the describes it counts). */
  const describeRun = (workflowId: string) =>
    s.env.client.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId } });

  /** Reads the engagement through the other process for `periods` cache periods, every quarter of a period. */
  async function readFor(read: () => Promise<unknown>, periods: number) {
    const until = Date.now() + periods * PERIOD_MS;
    while (Date.now() < until) {
      await read();
      await new Promise((resolve) => setTimeout(resolve, PERIOD_MS / 4));
    }
  }

  async function anEngagement_() {
    const pm = await s.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId));
    const viewer = await other.as('VIEWER');
    return { pm, id: e.id as string, read: () => viewer('GET', `/engagements/${e.id}`).then((r) => r.body) };
  }

  it('keeps "no lifecycle" without asking Temporal, until another process announces that it started one', async () => {
    const { pm, id, read } = await anEngagement_();
    // The creation's announcements heard first: one heard after the read below would drop what it kept.
    await other.heardEverything();
    expect((await read()).lifecycle).toBeNull();

    const before = describes.mock.calls.length;
    await readFor(read, 5);
    expect(describes.mock.calls.length).toBe(before);

    expect((await pm('POST', `/engagements/${id}/lifecycle`, LONG_TRANSITION)).status).toBe(202);
    const seen = await eventually(read, (e) => e.lifecycle !== null, 5_000);
    expect(seen.lifecycle.engagementId).toBe(id);
  });

  it('serves a quiet lifecycle without asking Temporal, sees its history grow, and stops watching a closed run', async () => {
    const { pm, id, read } = await anEngagement_();
    const workflowId = lifecycleWorkflowId(id);
    expect((await pm('POST', `/engagements/${id}/lifecycle`, LONG_TRANSITION)).status).toBe(202);
    await eventually(read, (e) => e.lifecycle?.stage === 'TRANSITION', 10_000);
    // Once its transition has started (the child's start recorded and the workflow task after it done), the
    // lifecycle waits on it and its history stops growing.
    const quiet = await eventually(
      async () => {
        const described = await describeRun(workflowId);
        const info = described.workflowExecutionInfo!;
        return {
          position: other.watches!.position(workflowId),
          described: `${info.execution!.runId}:${String(info.historyLength)}`,
          childStarted: (described.pendingChildren ?? []).some((c) => Boolean(c.runId)),
          taskPending: Boolean(described.pendingWorkflowTask),
        };
      },
      (p) => p.childStarted && !p.taskPending && p.position === p.described,
      10_000,
    );
    // Its transition quiet too (its first phase's writes done and announced, and heard), and the engagement read
    // once more after that: nothing the run wrote can make the reads below ask again.
    await eventually(
      async () => {
        const child = await describeRun(transitionWorkflowId(id));
        return !child.pendingWorkflowTask && (child.pendingActivities ?? []).length === 0;
      },
      (idle) => idle,
      10_000,
    );
    await other.heardEverything();
    await read();

    const before = describes.mock.calls.length;
    await readFor(read, 5);
    expect(describes.mock.calls.length).toBe(before);
    expect(other.watches!.position(workflowId)).toBe(quiet.position);

    // A signal adds events to the history: the watch hears of them, and the next refresh asks again.
    await s.env.client.workflow.getHandle(workflowId).signal('noSuchSignal');
    await eventually(
      async () => other.watches!.position(workflowId),
      (p) => p !== quiet.position,
      5_000,
    );
    await eventually(
      async () => {
        await read();
        return describes.mock.calls.length;
      },
      (n) => n > before,
      5_000,
    );

    await s.env.client.workflow.getHandle(workflowId).terminate('test over');
    await eventually(
      async () => other.watches!.position(workflowId),
      (p) => p === undefined,
      5_000,
    );
  });
});
