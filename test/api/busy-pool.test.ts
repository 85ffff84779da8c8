import { poolOf } from '../../src/db';
import { startApiFixture } from '../helpers/api-fixture';
import { eventually } from '../helpers/wait';

type Fixture = Awaited<ReturnType<typeof startApiFixture>>;

/**
 * Every connection of the API's pool busy for longer than Prisma's default wait for a transaction (2 s): a write in a
 * transaction queues for a connection as any query does, rather than failing with P2028 and a 500.
 */
describe('a write while every pool connection is busy', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startApiFixture();
  });
  afterAll(() => f.close());

  it('waits for a free connection and is stored', async () => {
    const admin = await f.api.as('ADMIN');
    // (its key read once, so that the request's first wait for a connection is its transaction's)
    expect((await admin('GET', '/api-keys')).status).toBe(200);
    const pool = poolOf(f.db.prisma);
    // given every connection taken (a burst of slow reports, say)
    const held = await Promise.all(Array.from({ length: pool.options.max }, () => pool.connect()));
    try {
      // when a key is issued meanwhile, and the connections stay busy for 3 s
      const answer = admin('POST', '/api-keys', { name: 'patient', role: 'VIEWER' });
      await eventually(
        async () => pool.waitingCount,
        (waiting) => waiting > 0,
      );
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      held.splice(0).forEach((client) => client.release());

      // then it is issued once the connections are free
      const issued = await answer;
      expect([issued.status, issued.body.detail]).toEqual([201, undefined]);
      expect(await f.db.prisma.apiKey.count({ where: { name: 'patient' } })).toBe(1);
    } finally {
      held.forEach((client) => client.release());
    }
  });
});
