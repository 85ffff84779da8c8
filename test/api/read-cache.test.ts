import { aKpiSubmission, anEngagement, aVendor } from '../builders/engagement';
import { startApiFixture } from '../helpers/api-fixture';

type Fixture = Awaited<ReturnType<typeof startApiFixture>>;

/**
 * The API's read cache, with a period long enough that nothing in a test expires by itself: what it serves without
 * asking the database, and what makes it ask again.
 */
describe('read cache in the API', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startApiFixture({ readCacheMs: 60_000 });
  });
  afterAll(() => f.close());

  async function anEngagementRead() {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const engagement = await pm('POST', '/engagements', anEngagement(vendor.body.id));
    const read = await pm('GET', `/engagements/${engagement.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body.name).toBe(engagement.body.name);
    return { pm, id: engagement.body.id as string, vendorId: vendor.body.id as string };
  }

  it('serves a repeated engagement read from the cache, and reads afresh after a write to that engagement', async () => {
    const { pm, id } = await anEngagementRead();

    // Another process (a worker, another API instance) changes the row: this process learns of it within the period.
    await f.db.prisma.engagement.update({ where: { id }, data: { name: 'Renamed elsewhere' } });
    expect((await pm('GET', `/engagements/${id}`)).body.name).toBe('Tier-1 customer support');

    expect((await pm('POST', `/engagements/${id}/kpi-submissions`, aKpiSubmission())).status).toBe(201);
    expect((await pm('GET', `/engagements/${id}`)).body.name).toBe('Renamed elsewhere');
  });

  it('reads every engagement of a vendor afresh after a change to the vendor', async () => {
    const { pm, id, vendorId } = await anEngagementRead();
    expect((await pm('PATCH', `/vendors/${vendorId}`, { legalName: 'Renamed BPO' })).status).toBe(200);
    expect((await pm('GET', `/engagements/${id}`)).body.vendor.legalName).toBe('Renamed BPO');
  });

  it('computes the portfolio afresh after a write through the API', async () => {
    const { pm, id } = await anEngagementRead();
    const row = async () =>
      ((await pm('GET', '/portfolio?limit=500')).body.items as Array<{ id: string; name: string }>).find(
        (r) => r.id === id,
      );
    expect((await row())?.name).toBe('Tier-1 customer support');
    await f.db.prisma.engagement.update({ where: { id }, data: { name: 'Renamed elsewhere' } });
    expect((await row())?.name).toBe('Tier-1 customer support');
    expect((await pm('POST', `/engagements/${id}/kpi-submissions`, aKpiSubmission())).status).toBe(201);
    expect((await row())?.name).toBe('Renamed elsewhere');
  });

  it("keeps a vendor key from another vendor's cached engagement", async () => {
    const { pm, id } = await anEngagementRead();
    const other = await pm('POST', '/vendors', aVendor());
    const vendor = await f.api.as('VENDOR', other.body.id);
    expect((await vendor('GET', `/engagements/${id}`)).status).toBe(404);
  });

  it('refuses a key from the request after its revocation through the API; concurrent revocations change it once', async () => {
    const admin = await f.api.as('ADMIN');
    const issued = await admin('POST', '/api-keys', { name: 'dashboard', role: 'VIEWER' });
    const viewer = { authorization: `Bearer ${issued.body.key}` };
    expect((await f.api.request('GET', '/engagements', undefined, viewer)).status).toBe(200);

    // Three revocations at once: one changes the key, all three answer with what is stored.
    const answers = await Promise.all([1, 2, 3].map(() => admin('DELETE', `/api-keys/${issued.body.id}`)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    const revoked = answers[0];
    expect(revoked.body).toMatchObject({ id: issued.body.id, name: 'dashboard', role: 'VIEWER' });
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    expect(new Set(answers.map((r) => r.body.revokedAt)).size).toBe(1);
    expect(revoked.body).not.toHaveProperty('keyHash');
    const refused = await f.api.request('GET', '/engagements', undefined, viewer);
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toBe('unknown or revoked API key');

    const audit = await admin('GET', `/audit-log?entityType=ApiKey&entityId=${issued.body.id}`);
    expect(audit.body.items.map((a: { action: string }) => a.action)).toEqual(['api-key.revoke', 'api-key.issue']);
    expect((await admin('DELETE', '/api-keys/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});

describe('read cache turned off', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startApiFixture({ readCacheMs: 0 });
  });
  afterAll(() => f.close());

  it('shows a change made elsewhere on the next read', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const { id } = (await pm('POST', '/engagements', anEngagement(vendor.body.id))).body;
    expect((await pm('GET', `/engagements/${id}`)).status).toBe(200);
    await f.db.prisma.engagement.update({ where: { id }, data: { name: 'Renamed elsewhere' } });
    expect((await pm('GET', `/engagements/${id}`)).body.name).toBe('Renamed elsewhere');
  });
});
