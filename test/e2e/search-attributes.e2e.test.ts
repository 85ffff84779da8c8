import { transitionWorkflowId } from '../../workflows/transition.messages';
import { anEngagement, aVendor } from '../builders/engagement';
import { startDevStack, type DevStack } from '../helpers/dev-worker';
import { eventually } from '../helpers/wait';

const TASK_QUEUE = 'search-attributes';

/** What the Temporal Web UI's list does with a query: the same visibility API, through the client. */
async function listIds(stack: DevStack, query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of stack.env.client.workflow.list({ query })) ids.push(execution.workflowId);
  return ids.sort();
}

describe('search attributes make the Temporal Web UI list filterable by stage, phase and vendor', () => {
  let stack: DevStack;
  beforeAll(async () => {
    stack = await startDevStack(TASK_QUEUE);
  });
  afterAll(() => stack.close());

  it('lists the transitions of one vendor, of one phase, and of a stage', async () => {
    // given two vendors, each with an engagement in transition, one of them a step further along
    const pm = await stack.api.as('PROGRAM_MANAGER');
    const phases = [
      { kind: 'PILOT', name: 'pilot', volumePct: 25, minDuration: '30d' },
      { kind: 'RAMP_WAVE', name: 'wave-2', volumePct: 100, minDuration: '30d' },
    ];
    const engagements: Array<{ id: string; vendorId: string }> = [];
    for (const name of ['Searchable Vendor A', 'Searchable Vendor B']) {
      const vendorId = (await pm('POST', '/vendors', aVendor({ legalName: `${name} ${Date.now()}` }))).body.id;
      const { body } = await pm('POST', '/engagements', anEngagement(vendorId));
      expect((await pm('POST', `/engagements/${body.id}/transition`, { phases })).status).toBe(202);
      engagements.push({ id: body.id, vendorId });
    }
    const [a, b] = engagements;
    // (a gate is pending once the pilot phase is under way)
    await eventually(
      () => pm('GET', `/engagements/${b.id}/transition`),
      (r) => r.body.live?.phases[0].status === 'ACTIVE',
    );
    expect((await pm('POST', `/engagements/${b.id}/transition/approve-gate`, {})).status).toBe(200);

    // then the visibility queries the Web UI runs find exactly the matching workflows
    const mine = `BpoEngagementId IN ("${a.id}", "${b.id}")`;
    const byVendor = await eventually(
      () => listIds(stack, `BpoVendorId = "${a.vendorId}" AND BpoStage = "TRANSITION"`),
      (ids) => ids.length === 1,
    );
    expect(byVendor).toEqual([transitionWorkflowId(a.id)]);
    const inWave2 = await eventually(
      () => listIds(stack, `${mine} AND BpoPhase = "wave-2"`),
      (ids) => ids.length === 1,
    );
    expect(inWave2).toEqual([transitionWorkflowId(b.id)]);
    const atQuarter = await listIds(stack, `${mine} AND BpoVolumePct = 25`);
    expect(atQuarter).toEqual([transitionWorkflowId(a.id)]);
    const inTransition = await listIds(stack, `${mine} AND BpoStage = "TRANSITION"`);
    expect(inTransition).toEqual([transitionWorkflowId(a.id), transitionWorkflowId(b.id)].sort());
  });
});
