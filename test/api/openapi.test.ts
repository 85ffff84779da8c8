import { startApiFixture } from '../helpers/api-fixture';

type Fixture = Awaited<ReturnType<typeof startApiFixture>>;

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  name: string;
  handle: { stack?: Layer[] };
}

/** Every route the Express app answers, as "METHOD /path/{param}", read from its router stack. */
function servedRoutes(stack: Layer[]): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      return Object.keys(layer.route.methods)
        .filter((m) => m !== '_all')
        .map((m) => `${m.toUpperCase()} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`);
    }
    return layer.handle.stack ? servedRoutes(layer.handle.stack) : [];
  });
}

describe('OpenAPI document', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startApiFixture();
  });
  afterAll(() => f.close());

  it('validates as OpenAPI 3.1', async () => {
    const doc = (await f.api.request('GET', '/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    // ESM-only package: a real dynamic import (jest runs with --experimental-vm-modules).
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const result = await new Validator().validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('documents every route the app serves, and serves every documented route', async () => {
    const doc = (await f.api.request('GET', '/openapi.json')).body;
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const app = f.api.app as unknown as { router: { stack: Layer[] } };
    const served = servedRoutes(app.router.stack).filter((r) => !/^GET \/(docs|favicon\.ico|)$/.test(r));
    expect(new Set(served)).toEqual(new Set(documented));
  });

  it('describes request bodies from the same schemas that validate them', async () => {
    const doc = (await f.api.request('GET', '/openapi.json')).body;
    const body = doc.paths['/engagements/{id}/kpi-submissions'].post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['periodStart', 'periodEnd', 'measurements']));
    expect(body.additionalProperties).toBe(false);
    expect(doc.paths['/engagements/{id}/kpi-submissions'].post.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['id', 'idempotency-key']),
    );
  });

  it('says that a term ends on the day after its last day', async () => {
    const doc = (await f.api.request('GET', '/openapi.json')).body;
    const { properties } = doc.paths['/engagements'].post.requestBody.content['application/json'].schema;
    expect(properties.termStart.description).toBe('The first day of the term');
    expect(properties.termEnd.description).toMatch(/day after the last day of the term.*ends on 2029-01-01/);
  });

  it('serves a browsable docs page from the app itself', async () => {
    const res = await f.api.request('GET', '/docs/');
    expect(res.status).toBe(200);
    expect(res.body).toContain('swagger-ui');
    expect(res.body).not.toMatch(/https?:\/\/(cdn|unpkg)/);
  });
});
