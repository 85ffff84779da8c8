import { startApiFixture } from '../helpers/api-fixture';

type Fixture = Awaited<ReturnType<typeof startApiFixture>>;

/** Errors Express and its parsers raise themselves are the client's, answered as problems, never a 500. */
describe('requests malformed below the routes', () => {
  let f: Fixture;
  let pm: Awaited<ReturnType<Fixture['api']['as']>>;
  beforeAll(async () => {
    f = await startApiFixture();
    pm = await f.api.as('PROGRAM_MANAGER');
  });
  afterAll(() => f.close());

  it('a malformed percent-escape in the path is a 400 problem', async () => {
    const res = await pm('GET', '/engagements/%E0%A4%A');
    expect([res.status, res.contentType]).toEqual([400, expect.stringContaining('application/problem+json')]);
    expect(res.body.detail).toMatch(/decode/i);
  });

  it('a body whose Content-Encoding lies is a 400 problem and writes nothing', async () => {
    const before = await f.db.prisma.vendor.count();
    const res = await pm('POST', '/vendors', '{"legalName":"Gzip Ltd","deliveryModel":"ONSHORE"}', {
      'content-encoding': 'gzip',
    });
    expect([res.status, res.contentType]).toEqual([400, expect.stringContaining('application/problem+json')]);
    expect(await f.db.prisma.vendor.count()).toBe(before);
  });

  it('an Idempotency-Key longer than documented is refused, naming the header', async () => {
    const res = await pm(
      'POST',
      '/engagements/00000000-0000-4000-8000-000000000000/kpi-submissions',
      {},
      {
        'idempotency-key': 'k'.repeat(201),
      },
    );
    expect(res.status).toBe(400);
    expect(res.body.invalidFields).toEqual([{ field: 'header.idempotency-key', reason: expect.any(String) }]);
  });
});
