import { randomUUID } from 'node:crypto';
import { anEngagement, aVendor } from '../builders/engagement';
import { eventually } from '../helpers/wait';
import {
  spawnWorkerProcess,
  startStackForWorkerProcesses,
  type StackForWorkerProcesses,
} from '../helpers/worker-process';

/**
 * Temporal up, no worker running (a deploy, every replica restarting): a request that steers a workflow is told that
 * the workflow has not answered, not that Temporal is unreachable, and what it asked for is done once a worker is back.
 */
describe('a steering request while no worker runs', () => {
  const taskQueue = `no-worker-${randomUUID()}`;
  let s: StackForWorkerProcesses;
  beforeAll(async () => {
    s = await startStackForWorkerProcesses(taskQueue, { updateTimeoutMs: 2_000 });
  });
  afterAll(() => s.close());

  it('answers 504 saying the workflow did not answer, and the change is made once a worker runs', async () => {
    // given an escalation raised while no worker runs
    const pm = await s.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id as string;
    const engagement = await pm('POST', '/engagements', anEngagement(vendorId));
    const vendor = await s.api.as('VENDOR', vendorId);
    const raised = await vendor('POST', `/engagements/${engagement.body.id}/escalations`, {
      severity: 'P3',
      category: 'billing',
      title: 'Invoice disputed',
      description: 'Credits are missing',
    });
    expect(raised.status).toBe(201);
    const id = raised.body.escalationId as string;

    // when the vendor acknowledges it
    const acknowledged = await vendor('POST', `/escalations/${id}/acknowledge`, { note: 'on it' });

    // then the answer says the workflow has not answered yet (Temporal itself is up)
    expect(acknowledged.status).toBe(504);
    expect(acknowledged.contentType).toMatch(/^application\/problem\+json/);
    expect(acknowledged.body.detail).toMatch(/^the workflow did not answer within 2 s: no worker is running it/);

    // and once a worker runs, the acknowledgement is made, once
    const worker = spawnWorkerProcess({ databaseUrl: s.db.url, taskQueue });
    await worker.ready;
    const escalation = await eventually(
      async () => (await pm('GET', `/escalations/${id}`)).body,
      (e) => e.status === 'ACKNOWLEDGED',
    );
    expect(escalation.steps.map((step: { action: string }) => step.action)).toEqual(['raised', 'acknowledged']);
    await worker.kill('SIGTERM');
  });
});
