import { BODY_LIMIT } from '../../src/api/app';
import { rowCounts } from '../helpers/api-fixture';
import { authenticatedOperations, describeOperation, type Operation } from '../helpers/openapi-requests';
import { startTwoVendorFixture, type TwoVendorFixture } from '../helpers/two-vendor-fixture';

const LIMIT_BYTES = Number.parseInt(BODY_LIMIT, 10) * 1024;
/**
 * A bound against a refusal that hangs or waits for the whole body, not a benchmark: most of it is the client's own
 * 10 MB send, which took 2.1 s on a 2-core machine busy with other test runs.
 */
const QUICKLY_MS = 5000;

/**
 * Bodies built to exhaust the API: over the size limit, or nested thousands of levels deep. Each is refused at once
 * with problem+json, nothing is written, and the process answers /health afterwards.
 */
describe('oversized and deeply nested bodies', () => {
  let f: TwoVendorFixture;
  let bodyRoutes: Operation[];
  let adminKey: string;

  beforeAll(async () => {
    f = await startTwoVendorFixture();
    adminKey = await f.key('ADMIN');
    bodyRoutes = authenticatedOperations((await f.api.request('GET', '/openapi.json')).body).filter((op) => op.body);
    // The loops below check every route with a body: an empty list would check nothing.
    expect(bodyRoutes.length).toBeGreaterThan(10);
  });
  afterAll(() => f.close());

  const urlOf = (op: Operation) =>
    op.path.replace('{id}', f.a.engagementId).replace('{kind}', 'DATA_RETURN_AND_DELETION');

  async function send(op: Operation, body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) {
    const started = Date.now();
    const res = await fetch(f.api.url + urlOf(op), {
      method: op.method,
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json', ...headers },
      body,
      ...(body instanceof ReadableStream && { duplex: 'half' }),
    } as RequestInit);
    const text = await res.text();
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      problem: JSON.parse(text),
      ms: Date.now() - started,
    };
  }

  async function expectUpAndUnchanged(before: Record<string, number>) {
    expect(await rowCounts(f.db.prisma)).toEqual(before);
    const health = await f.api.request('GET', '/health');
    expect(health.status).toBe(200);
  }

  it('refuses a body just over the limit with 413 on every route', async () => {
    const before = await rowCounts(f.db.prisma);
    const oversized = JSON.stringify({ padding: 'x'.repeat(LIMIT_BYTES) });
    for (const op of bodyRoutes) {
      const res = await send(op, oversized);
      expect({ route: describeOperation(op), status: res.status }).toEqual({
        route: describeOperation(op),
        status: 413,
      });
      expect(res.contentType).toContain('application/problem+json');
      expect(res.problem).toMatchObject({ status: 413, title: 'Payload Too Large' });
      expect(res.problem.detail).toContain(`exceeds ${LIMIT_BYTES} bytes`);
      expect(res.ms).toBeLessThan(QUICKLY_MS);
    }
    await expectUpAndUnchanged(before);
  });

  it('refuses 10 MB at once from its Content-Length, and a streamed body without one once it passes the limit', async () => {
    const before = await rowCounts(f.db.prisma);
    const [vendors] = bodyRoutes.filter((op) => op.path === '/vendors' && op.method === 'POST');

    const declared = await send(vendors, JSON.stringify({ legalName: 'x'.repeat(10 * 1024 * 1024) }));
    expect(declared).toMatchObject({ status: 413, problem: { status: 413 } });
    expect(declared.ms).toBeLessThan(QUICKLY_MS);

    // Chunked, no Content-Length: the limit must hold while reading, not only from the header.
    let sent = 0;
    const chunk = new TextEncoder().encode(`"${'y'.repeat(64 * 1024 - 2)}",`);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"legalName":['));
      },
      pull(controller) {
        if (sent >= 4 * LIMIT_BYTES) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const streamed = await send(vendors, stream);
    expect(streamed).toMatchObject({ status: 413, problem: { status: 413, title: 'Payload Too Large' } });
    expect(streamed.contentType).toContain('application/problem+json');
    expect(streamed.ms).toBeLessThan(QUICKLY_MS);
    await expectUpAndUnchanged(before);
  });

  it('refuses JSON nested 10,000 levels deep with 400 naming the body, on every route', async () => {
    const before = await rowCounts(f.db.prisma);
    const depth = 10_000;
    const deepArray = '['.repeat(depth) + ']'.repeat(depth);
    const deepObject = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    for (const op of bodyRoutes) {
      const first = Object.keys(op.body!.properties ?? {})[0];
      const bodies: Array<[string, string, string]> = [
        ['an array as the body', deepArray, 'body'],
        ['objects under an unknown key', deepObject, 'body'],
        ['arrays under a known field', `{"${first}":${deepArray}}`, `body.${first}`],
        ['objects under a known field', `{"${first}":${deepObject}}`, `body.${first}`],
      ];
      for (const [what, body, field] of bodies) {
        const res = await send(op, body);
        const fields = (res.problem.invalidFields ?? []).map((f: { field: string }) => f.field) as string[];
        // An array field reports the first element that is not what it holds: body.waves.0
        const named = fields.some((name) => name === field || name.startsWith(`${field}.`));
        const seen = { route: describeOperation(op), what, status: res.status, named };
        expect(seen).toEqual({ ...seen, status: 400, named: true });
        expect(res.contentType).toContain('application/problem+json');
        expect(res.ms).toBeLessThan(QUICKLY_MS);
      }
    }
    await expectUpAndUnchanged(before);
  });

  it('refuses nesting as deep as the size limit allows, and an object of 20,000 unknown keys', async () => {
    const before = await rowCounts(f.db.prisma);
    const [vendors] = bodyRoutes.filter((op) => op.path === '/vendors' && op.method === 'POST');
    const depth = Math.floor(LIMIT_BYTES / 2) - 10;
    const deepest = await send(vendors, `{"legalName":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    expect(deepest.status).toBe(400);
    expect(deepest.problem.invalidFields).toContainEqual(expect.objectContaining({ field: 'body.legalName' }));
    expect(deepest.ms).toBeLessThan(QUICKLY_MS);

    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, 0])));
    expect(wide.length).toBeLessThan(LIMIT_BYTES);
    const res = await send(vendors, wide);
    expect(res.status).toBe(400);
    expect(res.problem.detail).toContain('Unrecognized keys');
    expect(res.ms).toBeLessThan(QUICKLY_MS);
    await expectUpAndUnchanged(before);
  });
});
