import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

/**
 * The worker's statements on the pg pool (`queryOnPool`) store and read times as Prisma does (UTC, as stored), with
 * the database session in Los Angeles and the process in Kolkata: plain pg would send and parse them in the
 * process's local time. The statements run in a process of their own (test/helpers/pool-times.ts), in that zone.
 */
describe('queryOnPool', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    const name = new URL(db.url).pathname.slice(1);
    await db.prisma.$executeRawUnsafe(`ALTER DATABASE "${name}" SET timezone TO 'America/Los_Angeles'`);
  });
  afterAll(() => db.drop());

  it('sends and reads timestamps and dates as UTC, whatever the session and process time zones', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'test/helpers/pool-times.ts', db.url],
      { env: { ...process.env, TZ: 'Asia/Kolkata', NODE_OPTIONS: '' } },
    );
    const sent = '2026-03-08T09:30:15.123Z';
    expect(JSON.parse(stdout)).toEqual({
      processOffsetMinutes: -330,
      sessionZone: 'America/Los_Angeles',
      sent,
      selected: sent,
      day: '2026-03-08T00:00:00.000Z',
      count: '2',
      rowCount: 1,
      writtenOnPoolReadByPrisma: sent,
      writtenByPrismaReadOnPool: sent,
    });
  });
});
