import fc from 'fast-check';
import { aVendor } from '../builders/engagement';
import { rowCounts, startApiFixture } from '../helpers/api-fixture';

type Fixture = Awaited<ReturnType<typeof startApiFixture>>;

const changes = {
  legalName: fc.uuid().map((id) => `Renamed ${id}`),
  deliveryModel: fc.constantFrom('ONSHORE', 'NEARSHORE', 'OFFSHORE'),
  serviceLines: fc.subarray(['FRONT_OFFICE', 'BACK_OFFICE', 'KPO', 'RPO']),
  certifications: fc.constantFrom([], [{ kind: 'SOC_2', expiresOn: '2028-01-31' }]),
  contacts: fc.constantFrom([], [{ name: 'Ravi Relationship', email: 'ravi@vendor.example', role: 'account head' }]),
};

/** The fields of a vendor as the API shows them, without ids and timestamps. */
function fieldsOf(vendor: Record<string, unknown>) {
  return {
    legalName: vendor.legalName,
    deliveryModel: vendor.deliveryModel,
    serviceLines: vendor.serviceLines,
    certifications: (vendor.certifications as Array<{ kind: string; expiresOn: string }>).map((c) => ({
      kind: c.kind,
      expiresOn: c.expiresOn.slice(0, 10),
    })),
    contacts: (vendor.contacts as Array<{ name: string; email: string; role: string }>).map((c) => ({
      name: c.name,
      email: c.email,
      role: c.role,
    })),
  };
}

/** PATCH /vendors/:id changes the fields it is given and nothing else; an empty change is refused. */
describe('updating a vendor', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startApiFixture();
  });
  afterAll(() => f.close());

  const aVendorWithLists = () =>
    aVendor({
      serviceLines: ['ITES'],
      certifications: [{ kind: 'ISO_27001', expiresOn: '2027-06-30' }],
      contacts: [{ name: 'Dana Delivery', email: 'dana@acme.example', role: 'delivery head' }],
    });

  it('changes exactly the fields given, keeping the lists it is not given', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const someChange = fc.record(changes, { requiredKeys: [] }).filter((change) => Object.keys(change).length > 0);
    await fc.assert(
      fc.asyncProperty(someChange, async (change) => {
        const created = await pm('POST', '/vendors', aVendorWithLists());
        const updated = await pm('PATCH', `/vendors/${created.body.id}`, change);
        expect(updated.status).toBe(200);
        const read = await pm('GET', `/vendors/${created.body.id}`);
        expect(fieldsOf(read.body)).toEqual({ ...fieldsOf(created.body), ...change });
      }),
      { numRuns: 30 },
    );
  });

  it('refuses an empty change with 400 and writes nothing', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const created = await pm('POST', '/vendors', aVendorWithLists());
    const before = await rowCounts(f.db.prisma);
    const updated = await pm('PATCH', `/vendors/${created.body.id}`, {});
    expect(updated.status).toBe(400);
    expect(updated.body.invalidFields).toEqual([{ field: 'body', reason: 'must change a field' }]);
    expect(await rowCounts(f.db.prisma)).toEqual(before);
    expect(fieldsOf((await pm('GET', `/vendors/${created.body.id}`)).body)).toEqual(fieldsOf(created.body));
  });
});
