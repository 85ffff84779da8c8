import { aKpiSubmission, anEngagement, aSla, aVendor } from '../builders/engagement';
import { startApiFixture } from '../helpers/api-fixture';

type Fixture = Awaited<ReturnType<typeof startApiFixture>>;

describe('KPI submissions', () => {
  let f: Fixture;
  let engagementId: string;
  let vendor: Awaited<ReturnType<Fixture['api']['as']>>;

  beforeEach(async () => {
    f = await startApiFixture();
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    engagementId = (await pm('POST', '/engagements', anEngagement(vendorId))).body.id;
    vendor = await f.api.as('VENDOR', vendorId);
  });
  afterEach(() => f.close());

  const submit = (body = aKpiSubmission(), headers?: Record<string, string>) =>
    vendor('POST', `/engagements/${engagementId}/kpi-submissions`, body, headers);
  const measurementRows = () => f.db.prisma.kpiMeasurement.count({ where: { engagementId } });
  /** Another engagement of the same vendor, with its own SLAs. */
  const anotherEngagement = async (overrides: Record<string, unknown>): Promise<{ id: string }> => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('GET', `/engagements/${engagementId}`)).body.vendorId;
    return (await pm('POST', '/engagements', anEngagement(vendorId, overrides))).body;
  };

  it('stores many KPIs for one period in one request, readable back by the vendor', async () => {
    const res = await submit();
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ created: 2, corrected: 0, unchanged: 0 });
    const read = await vendor('GET', `/engagements/${engagementId}/kpi-measurements`);
    expect(
      read.body.items.map((m: { kpiKey: string; value: string; version: number }) => [m.kpiKey, m.value, m.version]),
    ).toEqual([
      ['aht', '350', 1],
      ['fcr', '76.5', 1],
    ]);
    expect(read.body.items[0].submittedBy).toBe('vendor:test-vendor');
  });

  it('takes a negative value for a KPI whose scale has one (a net promoter score), never for a percentage', async () => {
    const e = await anotherEngagement({
      slas: [
        aSla({ key: 'nps', name: 'Net promoter score', unit: 'points', target: 30, minimum: 10, creditTiers: [] }),
        aSla(),
      ],
    });
    const send = (kpiKey: string, value: number) =>
      vendor('POST', `/engagements/${e.id}/kpi-submissions`, {
        periodStart: '2026-10-01',
        periodEnd: '2026-10-31',
        measurements: [{ kpiKey, value }],
      });
    expect((await send('nps', -12)).status).toBe(201);
    const refused = await send('fcr', -1);
    expect(refused.status).toBe(400);
    expect(refused.body.invalidFields).toEqual([
      { field: 'body.measurements.0.value', reason: 'must be between 0 and 100 %' },
    ]);
    const stored = await f.db.prisma.kpiMeasurement.findMany({ where: { engagementId: e.id } });
    expect(stored.map((m) => m.value.toNumber())).toEqual([-12]);
  });

  it('refuses a figure past the calendar period of its own KPI, even sent with a quarterly one', async () => {
    const e = await anotherEngagement({
      reviewCadences: ['WEEKLY', 'MONTHLY', 'QUARTERLY'],
      slas: [
        aSla({ key: 'asa', name: 'Average speed of answer', measurementPeriod: 'WEEKLY', creditTiers: [] }),
        aSla({ key: 'csat', name: 'Customer satisfaction', measurementPeriod: 'QUARTERLY', creditTiers: [] }),
      ],
    });
    const send = (periodEnd: string, kpiKeys: string[], periodStart = '2026-01-05') =>
      vendor('POST', `/engagements/${e.id}/kpi-submissions`, {
        periodStart,
        periodEnd,
        measurements: kpiKeys.map((kpiKey) => ({ kpiKey, value: 90 })),
      });
    // one weekly figure would stand in for eleven weekly reviews
    const refused = await send('2026-03-31', ['asa', 'csat']);
    expect(refused.status).toBe(422);
    expect(refused.body.invalidFields).toEqual([
      { field: 'body.periodEnd', reason: 'must be at most 2026-01-11, the last day of the week it starts in (WEEKLY)' },
      { field: 'body.measurements.0.kpiKey', reason: 'asa is measured WEEKLY: send it for one calendar week at most' },
    ]);
    expect(refused.body.detail).toMatch(
      /runs past the week \(Monday to Sunday\) it starts in \(2026-01-05 to 2026-01-11/,
    );
    // a week from Sunday to Saturday runs across two of the reviews' weeks, each then measured in part and scored
    // missing every week: refused when sent
    const sundayWeek = await send('2026-01-17', ['asa'], '2026-01-11');
    expect([sundayWeek.status, sundayWeek.body.invalidFields[0].reason]).toEqual([
      422,
      'must be at most 2026-01-11, the last day of the week it starts in (WEEKLY)',
    ]);
    // and a quarterly figure past its quarter's end
    expect((await send('2026-04-05', ['csat'])).status).toBe(422);
    expect(await f.db.prisma.kpiMeasurement.count({ where: { engagementId: e.id } })).toBe(0);
    // the quarterly figure alone is taken for its quarter (to date), and the weekly one for its week
    expect((await send('2026-03-31', ['csat'])).status).toBe(201);
    expect((await send('2026-01-11', ['asa'])).status).toBe(201);
  });

  it('stores one row when the same submission arrives twice', async () => {
    await submit();
    const again = await submit();
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ submissionId: null, created: 0, corrected: 0, unchanged: 2 });
    expect(await measurementRows()).toBe(2);
  });

  it('answers a repeated Idempotency-Key with the first submission', async () => {
    const first = await submit(aKpiSubmission(), { 'idempotency-key': 'batch-2026-10' });
    const second = await submit(aKpiSubmission(), { 'idempotency-key': 'batch-2026-10' });
    expect(second.status).toBe(200);
    expect(second.body.submissionId).toBe(first.body.submissionId);
    expect(await measurementRows()).toBe(2);
  });

  it('answers a submission retried under its Idempotency-Key after the engagement closed, and refuses a new one', async () => {
    const first = await submit(aKpiSubmission(), { 'idempotency-key': 'batch-before-close' });
    expect(first.status).toBe(201);
    await f.db.prisma.engagement.update({ where: { id: engagementId }, data: { stage: 'CLOSED' } });

    // the answer to the first was lost: its retry gets it (it used to be a 409)
    const retried = await submit(aKpiSubmission(), { 'idempotency-key': 'batch-before-close' });
    expect([retried.status, retried.body.submissionId]).toEqual([200, first.body.submissionId]);
    const fresh = await submit(aKpiSubmission(), { 'idempotency-key': 'batch-after-close' });
    expect([fresh.status, fresh.body.detail]).toEqual([
      409,
      'the engagement is closed: no review will read new KPI data',
    ]);
    expect(await measurementRows()).toBe(2);
  });

  it('refuses an Idempotency-Key sent again with other values, writing nothing, and accepts it in another order', async () => {
    const key = { 'idempotency-key': 'batch-2026-10' };
    await submit(aKpiSubmission(), key);
    const changed = await submit(aKpiSubmission({ measurements: [{ kpiKey: 'fcr', value: 77 }] }), key);
    expect(changed.status).toBe(422);
    expect(changed.body.invalidFields).toEqual([
      { field: 'header.idempotency-key', reason: 'already used for a different submission' },
    ]);
    expect(await measurementRows()).toBe(2);
    expect(await f.db.prisma.kpiSubmission.count({ where: { engagementId } })).toBe(1);

    const reordered = aKpiSubmission();
    reordered.measurements.reverse();
    expect((await submit(reordered, key)).status).toBe(200);
  });

  it('compares a value with more than 4 decimals as stored, so sending it again changes nothing', async () => {
    const precise = aKpiSubmission({ measurements: [{ kpiKey: 'fcr', value: 76.12345 }] });
    expect((await submit(precise)).status).toBe(201);
    const again = await submit(precise);
    expect([again.status, again.body.unchanged]).toEqual([200, 1]);
    const read = await vendor('GET', `/engagements/${engagementId}/kpi-measurements?kpiKey=fcr&includeSuperseded=true`);
    expect(read.body.items.map((m: { value: string; version: number }) => [m.value, m.version])).toEqual([
      ['76.1235', 1],
    ]);
  });

  it('keeps a corrected value as a new version and the old one as superseded history, audited', async () => {
    await submit();
    const corrected = await submit(aKpiSubmission({ measurements: [{ kpiKey: 'fcr', value: 71.25 }] }));
    expect(corrected.status).toBe(201);
    expect(corrected.body).toMatchObject({ created: 0, corrected: 1 });

    const current = await vendor('GET', `/engagements/${engagementId}/kpi-measurements?kpiKey=fcr`);
    expect(current.body.items.map((m: { value: string; version: number }) => [m.value, m.version])).toEqual([
      ['71.25', 2],
    ]);
    const history = await vendor(
      'GET',
      `/engagements/${engagementId}/kpi-measurements?kpiKey=fcr&includeSuperseded=true`,
    );
    expect(
      history.body.items.map((m: { value: string; supersededAt: string | null }) => [m.value, m.supersededAt !== null]),
    ).toEqual([
      ['76.5', true],
      ['71.25', false],
    ]);
    const audit = await f.db.prisma.auditLog.findFirstOrThrow({ where: { action: 'kpi.correct' } });
    expect(audit.before).toMatchObject({ value: '76.5', version: 1 });
    expect(audit.after).toMatchObject({ value: '71.25', version: 2 });
  });

  it('stores one row when identical submissions race', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => submit()));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(await measurementRows()).toBe(2);
    expect(await f.db.prisma.kpiSubmission.count({ where: { engagementId } })).toBe(1);
  });

  it('keeps every racing correction as its own version, none overwritten', async () => {
    await submit();
    const values = [60, 61, 62, 63];
    await Promise.all(values.map((value) => submit(aKpiSubmission({ measurements: [{ kpiKey: 'fcr', value }] }))));
    const history = await f.db.prisma.kpiMeasurement.findMany({
      where: { engagementId, sla: { key: 'fcr' } },
      orderBy: { version: 'asc' },
    });
    expect(history.map((m) => m.version)).toEqual([1, 2, 3, 4, 5]);
    expect(history.filter((m) => m.supersededAt === null)).toHaveLength(1);
    expect(
      history
        .slice(1)
        .map((m) => Number(m.value))
        .sort(),
    ).toEqual(values);
  });
});
