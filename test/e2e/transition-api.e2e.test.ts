import { transitionWorkflowId } from '../../workflows/transition.messages';
import { anEngagement, aVendor } from '../builders/engagement';
import { startDevStack, type DevStack } from '../helpers/dev-worker';
import { monthOf } from '../helpers/kpi-data';
import { eventually } from '../helpers/wait';

describe('a transition end to end: API → dev server → worker → PostgreSQL', () => {
  let s: DevStack;
  beforeAll(async () => {
    s = await startDevStack('transition-api');
  });
  afterAll(() => s.close());

  it('holds the gate until the vendor submits KPI data, then raises volume, visible in the API and the search attributes', async () => {
    // given an engagement, a vendor key, and a two-wave transition with short phases
    const pm = await s.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId));
    const vendor = await s.api.as('VENDOR', vendorId);
    const started = await pm('POST', `/engagements/${e.id}/transition`, {
      phases: [
        { kind: 'PILOT', name: 'wave-1', volumePct: 10, minDuration: '1s' },
        { kind: 'RAMP_WAVE', name: 'wave-2', volumePct: 100, minDuration: '1s' },
      ],
      hold: '2s',
      maxConsecutiveFailures: 20,
    });
    expect(started.status).toBe(202);
    const view = () => pm('GET', `/engagements/${e.id}/transition`).then((r) => r.body);

    // when the first gate finds no data, it holds
    const held = await eventually(view, (v) => v.live?.phases[0].status === 'HELD');
    expect(held.live.volumePct).toBe(10);
    expect(held.live.gates[0].reasons).toContain('fcr: no measurement in the gate window');

    // and when the vendor submits good data for the period, the gate passes and the volume rises
    const period = monthOf(Date.now());
    const submitted = await vendor('POST', `/engagements/${e.id}/kpi-submissions`, {
      ...period,
      measurements: [
        { kpiKey: 'fcr', value: 81 },
        { kpiKey: 'aht', value: 310 },
      ],
    });
    expect(submitted.status).toBe(201);
    const done = await eventually(view, (v) => v.live?.status === 'COMPLETED');
    expect(done.live.volumePct).toBe(100);
    expect(done.volumeChanges.map((v: { toPct: number }) => v.toPct)).toEqual([10, 100]);
    const passedGate = done.plan.phases[0].gateEvaluations.find((g: { passed: boolean }) => g.passed);
    expect(passedGate.details.kpis.find((k: { key: string }) => k.key === 'fcr')).toMatchObject({
      value: 81,
      status: 'met',
    });

    // then the Web UI can find it by its search attributes
    const found = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const wf of s.env.client.workflow.list({
          query: `BpoEngagementId = '${e.id}' AND BpoVolumePct = 100 AND BpoStage = 'STEADY_STATE' AND BpoVendorId = '${vendorId}'`,
        })) {
          ids.push(wf.workflowId);
        }
        return ids;
      },
      (ids) => ids.length === 1,
    );
    expect(found).toEqual([transitionWorkflowId(e.id)]);
    const read = await pm('GET', `/engagements/${e.id}`);
    expect(read.body.stage).toBe('STEADY_STATE');
  });
});
