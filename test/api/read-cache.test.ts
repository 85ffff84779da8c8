import { aKpiSubmission, anEngagement, aVendor } from '../builders/engagement';
import { startApiFixture } from '../helpers/api-fixture';
import { eventually } from '../helpers/wait';

type Fixture = Awaited<ReturnType<typeof startApiFixture>>;

/**
 * The API's read cache, with a period long enough that nothing in a test expires by itself: what it serves without
 * asking the database, and what makes it ask again (a write through the API, a change PostgreSQL announces).
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
    // The creation's own announcements heard first: one heard after the read below would drop what it kept.
    await f.api.heardEverything();
    const read = await pm('GET', `/engagements/${engagement.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body.name).toBe(engagement.body.name);
    return { pm, id: engagement.body.id as string, vendorId: vendor.body.id as string };
  }

  /** A change PostgreSQL does not announce (its triggers off for the transaction): only the cache's own rules apply. */
  async function renameUnannounced(id: string, name: string) {
    await f.db.prisma.$transaction([
      f.db.prisma.$executeRaw`SET LOCAL session_replication_role = replica`,
      f.db.prisma.engagement.update({ where: { id }, data: { name } }),
    ]);
  }

  const nameOf = async (pm: Awaited<ReturnType<typeof anEngagementRead>>['pm'], id: string) =>
    (await pm('GET', `/engagements/${id}`)).body.name as string;

  it('serves an unchanged engagement from the cache, and reads it afresh after a write through the API', async () => {
    const { pm, id } = await anEngagementRead();

    await renameUnannounced(id, 'Renamed unannounced');
    expect(await nameOf(pm, id)).toBe('Tier-1 customer support');

    expect((await pm('POST', `/engagements/${id}/kpi-submissions`, aKpiSubmission())).status).toBe(201);
    expect(await nameOf(pm, id)).toBe('Renamed unannounced');
  });

  it('reads an engagement afresh once PostgreSQL announces a change to it, whoever made it', async () => {
    const { pm, id, vendorId } = await anEngagementRead();
    const read = () => pm('GET', `/engagements/${id}`).then((r) => r.body);

    // A worker's activity, another API process or a person with psql: the period (a minute here) is not waited for.
    await f.db.prisma.engagement.update({ where: { id }, data: { name: 'Renamed elsewhere' } });
    await eventually(read, (e) => e.name === 'Renamed elsewhere', 5_000);

    const sla = await f.db.prisma.sla.findFirstOrThrow({
      where: { engagementId: id, creditTiers: { some: {} } },
      include: { creditTiers: true },
    });
    await f.db.prisma.sla.update({ where: { id: sla.id }, data: { target: 0.5 } });
    await eventually(read, (e) => Number(e.slas.find((s: { id: string }) => s.id === sla.id).target) === 0.5, 5_000);

    await f.db.prisma.serviceCreditTier.update({ where: { id: sla.creditTiers[0].id }, data: { creditPct: 9 } });
    await eventually(
      read,
      (e) =>
        e.slas
          .find((s: { id: string }) => s.id === sla.id)
          .creditTiers.some((t: { creditPct: string }) => Number(t.creditPct) === 9),
      5_000,
    );

    await f.db.prisma.vendor.update({ where: { id: vendorId }, data: { legalName: 'Renamed vendor elsewhere' } });
    await eventually(read, (e) => e.vendor.legalName === 'Renamed vendor elsewhere', 5_000);
  });

  it('drops what it keeps when it stops hearing changes, and hears them again once reconnected', async () => {
    const { pm, id } = await anEngagementRead();
    const listener = () =>
      f.db.prisma.$queryRaw<Array<{ pid: number }>>`
        SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'bpo-api engagement changes'`;
    const [{ pid }] = await listener();

    // While the listening connection is gone, a change could go unheard: nothing kept on the strength of it stays.
    await f.db.prisma.$queryRaw`SELECT pg_terminate_backend(${pid}::int)`;
    await renameUnannounced(id, 'Renamed while deaf');
    await eventually(
      () => nameOf(pm, id),
      (name) => name === 'Renamed while deaf',
      5_000,
    );

    // It listens again on a new connection, and a change is heard as before.
    await eventually(listener, (rows) => rows.length === 1 && rows[0].pid !== pid, 10_000);
    await f.db.prisma.engagement.update({ where: { id }, data: { name: 'Renamed after reconnecting' } });
    await eventually(
      () => nameOf(pm, id),
      (name) => name === 'Renamed after reconnecting',
      5_000,
    );
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

describe('revoking admin keys', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startApiFixture();
  });
  afterAll(() => f.close());

  it('refuses to revoke the last active ADMIN key, and revokes an admin key while another remains', async () => {
    // given two admin keys, every other one revoked
    const first = await f.api.as('ADMIN');
    const issued = await first('POST', '/api-keys', { name: 'ops-admin', role: 'ADMIN' });
    const ops = { authorization: `Bearer ${issued.body.key}` };
    const others = await f.db.prisma.apiKey.findMany({ where: { role: 'ADMIN', revokedAt: null } });
    const keep = others.find((k) => k.id !== issued.body.id)!;
    await f.db.prisma.apiKey.updateMany({
      where: { role: 'ADMIN', id: { notIn: [issued.body.id, keep.id] } },
      data: { revokedAt: new Date() },
    });

    // when one admin revokes the other, it is revoked
    expect((await f.api.request('DELETE', `/api-keys/${keep.id}`, undefined, ops)).status).toBe(200);

    // and when the remaining admin revokes itself, the last one, it is refused (it used to answer 200 and leave no
    // one able to issue or revoke keys through the API)
    const refused = await f.api.request('DELETE', `/api-keys/${issued.body.id}`, undefined, ops);
    expect([refused.status, refused.body.detail]).toEqual([
      409,
      'this is the last active ADMIN key: revoking it would leave no one able to issue or revoke keys; ' +
        'issue another ADMIN key first (or run npm run create-admin-key on the server)',
    ]);
    expect((await f.api.request('GET', '/api-keys', undefined, ops)).status).toBe(200);
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
