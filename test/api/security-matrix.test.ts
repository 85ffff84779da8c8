import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { hashApiKey } from '../../src/auth/api-keys';
import { ROLES } from '../../src/domain/types';
import type { Role } from '../../src/generated/prisma/enums';
import { aKpiSubmission } from '../builders/engagement';
import { rowCounts } from '../helpers/api-fixture';
import { authenticatedOperations, describeOperation, type Operation } from '../helpers/openapi-requests';
import { startTwoVendorFixture, type TwoVendorFixture, type VendorIds } from '../helpers/two-vendor-fixture';

interface Answer {
  status: number;
  contentType: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- arbitrary JSON
}

/**
 * Valid bodies for the write routes a vendor key may call: on another vendor's id it must meet the scope (404), not
 * a refusal of its body (400).
 */
const VALID_BODIES: Record<string, unknown> = {
  'POST /engagements/{id}/kpi-submissions': aKpiSubmission(),
  'POST /engagements/{id}/escalations': {
    severity: 'P2',
    category: 'billing',
    title: 'Invoice disputed',
    description: 'Credits are missing',
  },
  'POST /escalations/{id}/resolve': { resolution: 'credits reissued' },
};

/**
 * Who may call what, written down here from the product's rules rather than read from the routes' own declarations
 * (the document's `x-roles` and the API's checks come from the same place, so a wrong role there would agree with
 * itself). ADMIN may call everything; a read not listed is open to every role, a write not listed to ADMIN alone.
 */
const PM = 'PROGRAM_MANAGER';
const POLICY: Record<string, readonly Role[]> = {
  'POST /api-keys': [],
  'GET /api-keys': [],
  'DELETE /api-keys/{id}': [],
  'POST /vendors': [PM],
  'PATCH /vendors/{id}': [PM],
  'POST /engagements': [PM],
  'POST /engagements/{id}/lifecycle': [PM],
  'POST /engagements/{id}/transition': [PM],
  'POST /engagements/{id}/transition/approve-gate': [PM],
  'POST /engagements/{id}/transition/override-gate': [PM],
  'POST /engagements/{id}/transition/pause': [PM],
  'POST /engagements/{id}/transition/resume': [PM],
  'PUT /engagements/{id}/transition/plan': [PM],
  'POST /engagements/{id}/governance': [PM],
  // Vendors report their own figures, raise their own concerns and do their part of an exit.
  'POST /engagements/{id}/kpi-submissions': [PM, 'VENDOR'],
  'POST /engagements/{id}/escalations': [PM, 'VENDOR'],
  'POST /engagements/{id}/exit-steps/{kind}/complete': [PM, 'VENDOR'],
  'POST /escalations/{id}/acknowledge': [PM, 'VENDOR', 'EXECUTIVE'],
  'POST /escalations/{id}/resolve': [PM, 'VENDOR', 'EXECUTIVE'],
  'POST /escalations/{id}/reassign': [PM],
  'POST /escalations/{id}/severity': [PM],
  // The contract's decisions are the executives' alone.
  'POST /engagements/{id}/renewal-decision': ['EXECUTIVE'],
  'POST /engagements/{id}/terminate': ['EXECUTIVE'],
  // Who did what, across every vendor: not for a vendor's key.
  'GET /audit-log': [PM, 'EXECUTIVE', 'VIEWER'],
};
const READ_BY_ALL = /^GET /;

/**
 * Who may call what, generated from /openapi.json: every route refuses a missing, malformed or revoked key; every
 * role meets exactly the rules the route declares (`x-roles`); a vendor key cannot tell another vendor's engagement
 * from one that does not exist, and its lists hold only its own.
 */
describe('security matrix', () => {
  let f: TwoVendorFixture;
  let operations: Operation[];

  beforeAll(async () => {
    f = await startTwoVendorFixture();
    operations = authenticatedOperations((await f.api.request('GET', '/openapi.json')).body);
  });
  afterAll(() => f.close());

  const urlFor = (op: Operation, ids: VendorIds) =>
    op.path
      .replace(
        '{id}',
        op.path.startsWith('/vendors')
          ? ids.vendorId
          : op.path.startsWith('/escalations')
            ? ids.escalationId
            : ids.engagementId,
      )
      .replace('{kind}', 'DATA_RETURN_AND_DELETION');

  async function call(op: Operation, url: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
    const res = await fetch(f.api.url + url, {
      method: op.method,
      headers: { 'content-type': 'application/json', ...headers },
      body: op.body ? JSON.stringify(body ?? {}) : undefined,
    });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    return { status: res.status, contentType, body: contentType.includes('json') ? JSON.parse(text) : text };
  }

  it('declares on every route the roles that the rules written here give it, and nothing else', () => {
    expect(operations.length).toBeGreaterThan(30);
    const expected = (route: string): Role[] => {
      const listed = POLICY[route];
      if (listed) return ['ADMIN', ...listed];
      return READ_BY_ALL.test(route) ? [...ROLES] : ['ADMIN'];
    };
    const routes = operations.map(describeOperation);
    expect(Object.keys(POLICY).filter((route) => !routes.includes(route))).toEqual([]);
    const wrong = operations
      .map((op) => ({ route: describeOperation(op), declared: [...op.roles].sort() }))
      .filter(({ route, declared }) => !isDeepStrictEqual(declared, expected(route).sort()))
      .map(
        ({ route, declared }) =>
          `${route}: declares ${declared.join(', ')}, the rules say ${expected(route).join(', ')}`,
      );
    expect(wrong).toEqual([]);
  });

  it('refuses a missing, malformed or revoked key with 401 problem+json on every route, writing nothing', async () => {
    const revoked = await f.key('ADMIN');
    await f.db.prisma.apiKey.update({ where: { keyHash: hashApiKey(revoked) }, data: { revokedAt: new Date() } });
    const valid = await f.key('PROGRAM_MANAGER');
    const credentials: Array<[string, Record<string, string>]> = [
      ['no key', {}],
      ['an empty bearer', { authorization: 'Bearer' }],
      ['basic auth', { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` }],
      ['two tokens', { authorization: `Bearer ${valid} extra` }],
      ['a tampered key', { authorization: `Bearer ${valid.slice(0, -1)}${valid.endsWith('A') ? 'B' : 'A'}` }],
      ['a key with a prefix only', { authorization: 'Bearer bpo_admin_' }],
      ['an unknown X-API-Key', { 'x-api-key': `bpo_admin_${randomUUID()}` }],
      ['a revoked key', { authorization: `Bearer ${revoked}` }],
      ['a revoked X-API-Key', { 'x-api-key': revoked }],
    ];
    const before = await rowCounts(f.db.prisma);
    const failures: string[] = [];
    for (const op of operations) {
      for (const [what, headers] of credentials) {
        const res = await call(op, urlFor(op, f.a), headers, VALID_BODIES[describeOperation(op)]);
        const ok =
          res.status === 401 &&
          res.contentType.startsWith('application/problem+json') &&
          res.body.status === 401 &&
          /API key/.test(res.body.detail);
        if (!ok) failures.push(`${describeOperation(op)} with ${what}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await rowCounts(f.db.prisma)).toEqual(before);
  });

  it.each([...ROLES])(
    'lets %s call exactly the routes that declare it, and writes nothing when it refuses',
    async (role) => {
      const key = await f.key(role, role === 'VENDOR' ? f.a.vendorId : undefined);
      const failures: string[] = [];
      for (const op of operations) {
        const before = await rowCounts(f.db.prisma);
        // An empty body: refused by validation or by the closed engagement's state when the role may call the route.
        const res = await call(op, urlFor(op, f.a), { authorization: `Bearer ${key}` });
        const route = describeOperation(op);
        if (op.roles.includes(role)) {
          if (res.status === 401 || res.status === 403 || res.status >= 500)
            failures.push(`${route}: allowed, answered ${res.status} ${JSON.stringify(res.body)}`);
        } else {
          const refused =
            res.status === 403 &&
            res.contentType.startsWith('application/problem+json') &&
            res.body.detail.startsWith(`role ${role} may not`);
          if (!refused) failures.push(`${route}: not allowed, answered ${res.status} ${JSON.stringify(res.body)}`);
          const after = await rowCounts(f.db.prisma);
          if (!isDeepStrictEqual(after, before)) failures.push(`${route}: a refused call wrote rows`);
        }
      }
      expect(failures).toEqual([]);
    },
  );

  describe('a vendor key', () => {
    const scoped = (op: Operation) => /^\/(engagements|escalations|vendors)\/\{id\}/.test(op.path);

    it("answers another vendor's engagement, escalation or vendor id exactly as an id that does not exist", async () => {
      const key = await f.key('VENDOR', f.a.vendorId);
      const auth = { authorization: `Bearer ${key}` };
      const nobody: VendorIds = { vendorId: randomUUID(), engagementId: randomUUID(), escalationId: randomUUID() };
      const before = await rowCounts(f.db.prisma);
      const failures: string[] = [];
      const scopedRoutes = operations.filter(scoped);
      expect(scopedRoutes.length).toBeGreaterThan(25);
      for (const op of scopedRoutes) {
        const body = VALID_BODIES[describeOperation(op)];
        const [others, missing] = await Promise.all([f.b, nobody].map((ids) => call(op, urlFor(op, ids), auth, body)));
        const route = describeOperation(op);
        const expected = op.roles.includes('VENDOR') ? 404 : 403;
        if (others.status !== expected) failures.push(`${route}: vendor B's id answered ${others.status}`);
        const masked = (answer: Answer, ids: VendorIds) =>
          JSON.stringify({ ...answer.body, instance: undefined })
            .replaceAll(ids.engagementId, '<id>')
            .replaceAll(ids.escalationId, '<id>')
            .replaceAll(ids.vendorId, '<id>');
        if (masked(others, f.b) !== masked(missing, nobody) || others.status !== missing.status)
          failures.push(`${route}: vendor B's id and a missing id answer differently`);
        // Its own ids are read: the 404 above is the scope, not a broken request (its own writes are not made here).
        if (op.method === 'GET') {
          const own = await call(op, urlFor(op, f.a), auth);
          if (own.status !== 200)
            failures.push(`${route}: its own id answered ${own.status} ${JSON.stringify(own.body)}`);
        }
      }
      expect(failures).toEqual([]);
      expect(await rowCounts(f.db.prisma)).toEqual(before);
    });

    it('lists only its own vendor, engagements and escalations, whatever the filters say', async () => {
      const key = await f.key('VENDOR', f.a.vendorId);
      const auth = { authorization: `Bearer ${key}` };
      const lists = operations.filter((op) => op.method === 'GET' && op.roles.includes('VENDOR'));
      const failures: string[] = [];
      for (const op of lists) {
        const urls = [urlFor(op, f.a)];
        if (op.parameters.some((p) => p.in === 'query' && p.name === 'vendorId'))
          urls.push(`${urlFor(op, f.a)}?vendorId=${f.b.vendorId}`);
        for (const url of urls) {
          const res = await call(op, url, auth);
          if (res.status !== 200) failures.push(`GET ${url}: answered ${res.status}, not a list`);
          const text = JSON.stringify(res.body);
          const leaked = Object.values(f.b).filter((id) => text.includes(id));
          if (leaked.length) failures.push(`GET ${url}: shows vendor B's ${leaked.join(', ')}`);
        }
      }
      expect(failures).toEqual([]);

      const engagements = await call(
        lists.find((op) => op.path === '/engagements')!,
        '/engagements',
        auth,
      );
      expect(engagements.body.items.map((e: { id: string }) => e.id)).toEqual([f.a.engagementId]);
      expect(engagements.body.total).toBe(1);
      const vendors = await call(
        lists.find((op) => op.path === '/vendors')!,
        '/vendors',
        auth,
      );
      expect(vendors.body.items.map((v: { id: string }) => v.id)).toEqual([f.a.vendorId]);
    });
  });
});
