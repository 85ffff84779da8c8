import { createHash } from 'node:crypto';
import { aKpiSubmission, anEngagement, aVendor } from '../builders/engagement';
import { startApiFixture } from '../helpers/api-fixture';
import { createEngagementBody } from '../../src/api/schemas';

type Fixture = Awaited<ReturnType<typeof startApiFixture>>;

describe('vendors and engagements', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startApiFixture();
  });
  afterAll(() => f.close());

  it('creates, lists, reads and updates a vendor, auditing each write', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const created = await pm(
      'POST',
      '/vendors',
      aVendor({
        legalName: 'Acme BPO',
        deliveryModel: 'NEARSHORE',
        serviceLines: ['FRONT_OFFICE', 'KPO'],
        certifications: [{ kind: 'ISO_27001', expiresOn: '2027-06-30' }],
        contacts: [{ name: 'Dana Delivery', email: 'dana@acme.example', role: 'delivery head' }],
      }),
    );
    expect(created.status).toBe(201);
    expect(created.body.certifications[0]).toMatchObject({ kind: 'ISO_27001', expiresOn: '2027-06-30T00:00:00.000Z' });

    const listed = await pm('GET', '/vendors?deliveryModel=NEARSHORE');
    expect(listed.body.items.map((v: { legalName: string }) => v.legalName)).toContain('Acme BPO');

    const updated = await pm('PATCH', `/vendors/${created.body.id}`, { deliveryModel: 'OFFSHORE' });
    expect(updated.status).toBe(200);
    expect(updated.body.deliveryModel).toBe('OFFSHORE');

    const audit = await pm('GET', `/audit-log?entityType=Vendor&entityId=${created.body.id}`);
    expect(audit.body.items.map((a: { action: string }) => a.action)).toEqual(['vendor.update', 'vendor.create']);
    expect(audit.body.items[0].before.deliveryModel).toBe('NEARSHORE');
    expect(audit.body.items[0].after.deliveryModel).toBe('OFFSHORE');
    expect(audit.body.items[0].actor).toBe('program_manager:test-program_manager');
  });

  it('answers 409, not 500, to the creates of one vendor name that race, and stores one vendor', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const legalName = `Racing Vendor ${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: 10 }, () => pm('POST', '/vendors', aVendor({ legalName }))));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, ...Array(9).fill(409)]);
    expect(await f.db.prisma.vendor.count({ where: { legalName } })).toBe(1);
  });

  it('keeps one list when updates replacing a vendor’s contacts race, with one audit row each', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const { body: vendor } = await pm('POST', '/vendors', aVendor());
    const contact = (i: number) => ({ name: `Contact ${i}`, email: `c${i}@vendor.example`, role: 'account manager' });

    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => pm('PATCH', `/vendors/${vendor.id}`, { contacts: [contact(i)] })),
    );

    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    const stored = await f.db.prisma.vendorContact.findMany({ where: { vendorId: vendor.id } });
    expect(stored).toHaveLength(1);
    const audits = await f.db.prisma.auditLog.findMany({
      where: { entityId: vendor.id, action: 'vendor.update' },
      orderBy: [{ at: 'asc' }, { id: 'asc' }],
    });
    expect(audits).toHaveLength(8);
    // each update saw the list the one before it left
    const names = (json: unknown) => (json as { contacts: Array<{ name: string }> }).contacts.map((c) => c.name);
    expect(audits.slice(1).every((a, i) => names(a.before).join() === names(audits[i].after).join())).toBe(true);
  });

  it('creates an engagement with SLAs, credit tiers, matrix, council and default severity deadlines', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const created = await pm('POST', '/engagements', anEngagement(vendor.body.id));
    expect(created.status).toBe(201);
    expect(created.body.monthlyFee).toBe('100000');
    expect(created.body.slas.map((s: { key: string }) => s.key)).toEqual(['aht', 'fcr']);
    const fcr = created.body.slas.find((s: { key: string }) => s.key === 'fcr');
    expect(
      fcr.creditTiers.map((t: { maxShortfall: string | null; creditPct: string }) => [t.maxShortfall, t.creditPct]),
    ).toEqual([
      ['2', '1'],
      [null, '3'],
    ]);
    expect(created.body.escalationLevels).toHaveLength(2);
    expect(
      created.body.escalationPolicies.map((p: { severity: string; acknowledgeSeconds: number }) => [
        p.severity,
        p.acknowledgeSeconds,
      ]),
    ).toEqual([
      ['P1', 900],
      ['P2', 3600],
      ['P3', 14400],
      ['P4', 28800],
    ]);
    const read = await pm('GET', `/engagements/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body.councilMembers[0].role).toBe('EXECUTIVE_SPONSOR');
    expect(read.body.workflowUrl).toContain(`engagement-${created.body.id}-lifecycle`);
  });

  it('creates one engagement for a request retried, or sent at once, under one Idempotency-Key', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const name = `Retried ${Date.now()}`;
    const key = { 'idempotency-key': `create-${name}` };
    const body = anEngagement(vendor.body.id, { name });

    // when the same request is sent eight times at once and once more after
    const answers = await Promise.all(Array.from({ length: 8 }, () => pm('POST', '/engagements', body, key)));
    const retried = await pm('POST', '/engagements', body, key);

    // then one created it, and every other answer is that engagement, as created
    expect([...answers, retried].map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const created = answers.find((a) => a.status === 201)!.body;
    for (const a of [...answers, retried]) expect(a.body).toEqual(created);
    expect(await f.db.prisma.engagement.count({ where: { name } })).toBe(1);
    expect(await f.db.prisma.auditLog.count({ where: { action: 'engagement.create', entityId: created.id } })).toBe(1);

    // and the key sent with another engagement is refused, writing nothing
    const other = await pm('POST', '/engagements', { ...body, name: `${name} (other)` }, key);
    expect([other.status, other.body.invalidFields]).toEqual([
      422,
      [{ field: 'header.idempotency-key', reason: 'was used for another engagement' }],
    ]);
    expect(await f.db.prisma.engagement.count({ where: { name: `${name} (other)` } })).toBe(0);
    // and without a key, the same body makes another engagement, as before
    expect((await pm('POST', '/engagements', body)).status).toBe(201);
    expect(await f.db.prisma.engagement.count({ where: { name } })).toBe(2);
  });

  it('matches a retry to a key stored before a field with a default was added', async () => {
    // given an engagement created under a key whose fingerprint was taken before creditPoolPct existed
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const body = anEngagement(vendor.body.id, { name: `Created before a default ${Date.now()}` });
    const key = { 'idempotency-key': `before-a-default-${Date.now()}` };
    const created = await pm('POST', '/engagements', body, key);
    expect(created.status).toBe(201);
    const asParsedThen: Record<string, unknown> = { ...createEngagementBody.parse(body) };
    delete asParsedThen.creditPoolPct;
    await f.db.prisma.engagementCreationKey.update({
      where: { key: key['idempotency-key'] },
      data: { bodyHash: createHash('sha256').update(JSON.stringify(asParsedThen)).digest('hex') },
    });

    // when the request is retried now, then it answers that engagement
    const retried = await pm('POST', '/engagements', body, key);
    expect([retried.status, retried.body.id]).toEqual([200, created.body.id]);
    // and a pool other than the default is another request
    const other = await pm('POST', '/engagements', { ...body, creditPoolPct: 50 }, key);
    expect(other.status).toBe(422);
  });

  it('filters and paginates engagements by vendor and stage', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    for (const name of ['A', 'B', 'C']) await pm('POST', '/engagements', anEngagement(vendor.body.id, { name }));

    const firstPage = await pm('GET', `/engagements?vendorId=${vendor.body.id}&stage=CONTRACTED&limit=2`);
    const secondPage = await pm('GET', `/engagements?vendorId=${vendor.body.id}&stage=CONTRACTED&limit=2&offset=2`);
    expect(firstPage.body.total).toBe(3);
    expect(firstPage.body.items.map((e: { name: string }) => e.name)).toEqual(['A', 'B']);
    expect(secondPage.body.items.map((e: { name: string }) => e.name)).toEqual(['C']);
    const none = await pm('GET', `/engagements?vendorId=${vendor.body.id}&stage=EXIT`);
    expect(none.body.total).toBe(0);
  });

  it('serves the read endpoints for workflow-written facts, empty before any workflow ran', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendor.body.id));
    const paths = ['reviews', 'escalations', 'action-items', 'change-requests'];
    for (const path of paths) {
      const res = await pm('GET', `/engagements/${e.id}/${path}`);
      expect([path, res.status, res.body.total]).toEqual([path, 200, 0]);
    }
    expect((await pm('GET', `/engagements/${e.id}/transition`)).body).toMatchObject({
      plan: null,
      volumeChanges: [],
      live: null,
    });
    expect((await pm('GET', `/engagements/${e.id}/exit-plan`)).body).toEqual({ plan: null });
    expect((await pm('GET', `/engagements/${e.id}/renewal-evaluations`)).body).toEqual({ items: [] });
    expect((await pm('GET', `/engagements/${e.id}/stage-changes`)).body).toEqual({ items: [] });
  });
});

describe('roles and API keys', () => {
  let f: Fixture;
  let vendorA: string;
  let vendorB: string;
  let engagementA: string;
  let engagementB: string;
  beforeAll(async () => {
    f = await startApiFixture();
    const pm = await f.api.as('PROGRAM_MANAGER');
    vendorA = (await pm('POST', '/vendors', aVendor())).body.id;
    vendorB = (await pm('POST', '/vendors', aVendor())).body.id;
    engagementA = (await pm('POST', '/engagements', anEngagement(vendorA))).body.id;
    engagementB = (await pm('POST', '/engagements', anEngagement(vendorB))).body.id;
  });
  afterAll(() => f.close());

  it('refuses requests without a key, or with an unknown one', async () => {
    expect((await f.api.request('GET', '/engagements')).status).toBe(401);
    const res = await f.api.request('GET', '/engagements', undefined, { authorization: 'Bearer bpo_admin_nope' });
    expect(res.status).toBe(401);
    expect(res.body.detail).toBe('unknown or revoked API key');
  });

  it('shows a vendor key only its own engagements; another vendor’s id is 404', async () => {
    const vendor = await f.api.as('VENDOR', vendorA);
    const list = await vendor('GET', '/engagements');
    expect(list.body.items.map((e: { id: string }) => e.id)).toEqual([engagementA]);
    expect((await vendor('GET', `/engagements/${engagementB}`)).status).toBe(404);
    expect((await vendor('GET', `/engagements/${engagementB}/kpi-measurements`)).status).toBe(404);
    expect((await vendor('POST', `/engagements/${engagementB}/kpi-submissions`, aKpiSubmission())).status).toBe(404);
    expect((await vendor('GET', '/vendors')).body.items.map((v: { id: string }) => v.id)).toEqual([vendorA]);
    // asking for another vendor's engagements gives an empty page, not the caller's own under that vendor's name
    const others = await vendor('GET', `/engagements?vendorId=${vendorB}`);
    expect([others.status, others.body.items, others.body.total]).toEqual([200, [], 0]);
  });

  it('refuses KPI data and escalations for a closed engagement, writing nothing', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor({ legalName: 'Closed Shop BPO' }))).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId));
    await f.db.prisma.engagement.update({ where: { id: e.id }, data: { stage: 'CLOSED' } });
    const vendor = await f.api.as('VENDOR', vendorId);

    const kpi = await vendor('POST', `/engagements/${e.id}/kpi-submissions`, aKpiSubmission());
    const raised = await vendor('POST', `/engagements/${e.id}/escalations`, {
      severity: 'P3',
      title: 'Late report',
      category: 'reporting',
      description: 'The October report came a week late.',
    });

    expect([kpi.status, kpi.body.detail]).toEqual([409, 'the engagement is closed: no review will read new KPI data']);
    expect([raised.status, raised.body.detail]).toEqual([
      409,
      'the engagement is closed: nothing can be escalated on it',
    ]);
    expect(await f.db.prisma.kpiMeasurement.count({ where: { engagementId: e.id } })).toBe(0);
    expect(await f.db.prisma.escalation.count({ where: { engagementId: e.id } })).toBe(0);
  });

  it('answers a raise retried under its Idempotency-Key after the engagement closed, and refuses a new one', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId));
    const issue = { severity: 'P3', title: 'Late report', category: 'reporting', description: 'A week late.' };
    // raised under the key `raise-1` (as the API stores it) before the engagement closed
    const stored = await f.db.prisma.escalation.create({
      data: {
        engagementId: e.id,
        ...issue,
        severity: 'P3',
        raisedBy: 'vendor:test',
        idempotencyKey: `${e.id}/api/raise-1`,
      },
    });
    await f.db.prisma.engagement.update({ where: { id: e.id }, data: { stage: 'CLOSED' } });
    const vendor = await f.api.as('VENDOR', vendorId);

    const retried = await vendor('POST', `/engagements/${e.id}/escalations`, issue, { 'idempotency-key': 'raise-1' });
    const other = await vendor(
      'POST',
      `/engagements/${e.id}/escalations`,
      { ...issue, title: 'Another' },
      {
        'idempotency-key': 'raise-1',
      },
    );
    const fresh = await vendor('POST', `/engagements/${e.id}/escalations`, issue, { 'idempotency-key': 'raise-2' });

    expect([retried.status, retried.body.escalationId]).toEqual([200, stored.id]);
    expect([other.status, other.body.invalidFields]).toEqual([
      422,
      [{ field: 'header.idempotency-key', reason: 'was used for another escalation' }],
    ]);
    expect([fresh.status, fresh.body.detail]).toEqual([
      409,
      'the engagement is closed: nothing can be escalated on it',
    ]);
    expect(await f.db.prisma.escalation.count({ where: { engagementId: e.id } })).toBe(1);
  });

  it('lets an admin issue keys, shown once and stored hashed', async () => {
    const admin = await f.api.as('ADMIN');
    const issued = await admin('POST', '/api-keys', { name: 'finance', role: 'VIEWER' });
    expect(issued.status).toBe(201);
    expect(issued.body.key).toMatch(/^bpo_viewer_/);
    const stored = await f.db.prisma.apiKey.findUniqueOrThrow({ where: { id: issued.body.id } });
    expect(stored.keyHash).not.toContain(issued.body.key);
    const asViewer = await f.api.request('GET', '/engagements', undefined, {
      authorization: `Bearer ${issued.body.key}`,
    });
    expect(asViewer.status).toBe(200);
  });

  it.each([
    ['VIEWER', 'POST', '/vendors'],
    ['EXECUTIVE', 'POST', '/vendors'],
    ['VENDOR', 'POST', '/engagements'],
    ['PROGRAM_MANAGER', 'POST', '/api-keys'],
    ['VENDOR', 'GET', '/audit-log'],
  ] as const)('forbids %s to %s %s', async (role, method, path) => {
    const call = await f.api.as(role, role === 'VENDOR' ? vendorA : undefined);
    const res = await call(method, path, method === 'POST' ? aVendor() : undefined);
    expect(res.status).toBe(403);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body.detail).toContain(`role ${role} may not`);
  });
});

describe('while Temporal is down', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startApiFixture();
  });
  afterAll(() => f.close());

  it('still reads an engagement from PostgreSQL and says the live state is unavailable', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendor.body.id));
    const read = await pm('GET', `/engagements/${e.id}`);
    expect(read.status).toBe(200);
    expect(read.body.lifecycle).toBeNull();
    expect(read.body.lifecycleUnavailable).toMatch(/^Temporal is unreachable/);
  });

  it('answers 503 with the reason when asked to start a workflow', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendor = await pm('POST', '/vendors', aVendor());
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendor.body.id));
    const res = await pm('POST', `/engagements/${e.id}/lifecycle`);
    expect(res.status).toBe(503);
    expect(res.body.detail).toMatch(/^Temporal is unreachable/);
  });
});
