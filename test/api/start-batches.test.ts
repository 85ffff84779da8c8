import type { Pool } from 'pg';
import { poolOf } from '../../src/db';
import { planFromBody, startBatches, type StartBatches } from '../../src/api/transition';
import { startTransitionBody } from '../../src/api/schemas';
import { anEngagement, aVendor } from '../builders/engagement';
import { startApiFixture } from '../helpers/api-fixture';

type Fixture = Awaited<ReturnType<typeof startApiFixture>>;

/** The start path's reads and writes against a real PostgreSQL: many starts of one moment, one statement. */
describe('start batches', () => {
  let f: Fixture;
  let engagementIds: string[];
  beforeAll(async () => {
    f = await startApiFixture();
    const pm = await f.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    engagementIds = [];
    for (let i = 0; i < 8; i++) {
      engagementIds.push((await pm('POST', '/engagements', anEngagement(vendorId, { name: `E${i}` }))).body.id);
    }
  });
  afterAll(() => f.close());

  /** Start batches on the database's pool, counting the statements they send. */
  function counted(): { starts: StartBatches; statements: () => number } {
    let statements = 0;
    const pool = poolOf(f.db.prisma);
    const counting = {
      query: (...args: Parameters<Pool['query']>) => {
        statements++;
        return (pool.query as (...a: unknown[]) => unknown)(...args);
      },
    } as unknown as Pool;
    return { starts: startBatches(counting), statements: () => statements };
  }

  const plan = (waves: number[], gateThreshold = 80) => ({
    ...planFromBody(startTransitionBody.parse({ waves })),
    gateThreshold,
  });

  it('reads the engagements of concurrent starts in one statement, and answers null for one that does not exist', async () => {
    const { starts, statements } = counted();
    const missing = '00000000-0000-4000-8000-000000000000';

    const read = await Promise.all([...engagementIds.slice(0, 3), missing].map((id) => starts.engagements.load(id)));

    expect(statements()).toBe(1);
    expect(read.map((e) => e?.id ?? null)).toEqual([...engagementIds.slice(0, 3), null]);
    expect(read[0]).toMatchObject({ stage: 'CONTRACTED', slaCount: 2, transitionPlan: null });
    // the term's dates as the API stores them (UTC midnight), whatever the time zone of this process or the server
    expect([read[0]!.termStart.toISOString(), read[0]!.termEnd.toISOString()]).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2028-12-31T00:00:00.000Z',
    ]);
  });

  it('stores the plans of concurrent starts in one statement, each once with its phases and audit row; a second start of one engagement gets the first one’s plan', async () => {
    const { starts, statements } = counted();
    const [a, b, c] = engagementIds;

    // when three engagements' plans are stored at one moment, one of them twice with different plans
    const [planA, planB, planC] = [plan([10, 50, 100], 82.345), plan([25, 100]), plan([50, 100])];
    const stored = await Promise.all([
      starts.plans.load({ engagementId: a, plan: planA, actor: 'program_manager:one' }),
      starts.plans.load({ engagementId: b, plan: planB, actor: 'program_manager:one' }),
      starts.plans.load({ engagementId: a, plan: plan([100]), actor: 'program_manager:two' }),
      starts.plans.load({ engagementId: c, plan: planC, actor: 'program_manager:one' }),
    ]);

    // then one statement stored three plans; both starts of `a` answer its first plan, as stored (rounded)
    expect(statements()).toBe(1);
    expect(stored).toEqual([{ ...planA, gateThreshold: 82.35 }, planB, { ...planA, gateThreshold: 82.35 }, planC]);
    const plans = await f.db.prisma.transitionPlan.findMany({
      where: { engagementId: { in: [a, b, c] } },
      include: { phases: { orderBy: { sequence: 'asc' } } },
    });
    expect(plans.map((p) => [p.engagementId, p.phases.map((ph) => ph.name)]).sort()).toEqual(
      [
        [a, planA.phases.map((ph) => ph.name)],
        [b, planB.phases.map((ph) => ph.name)],
        [c, planC.phases.map((ph) => ph.name)],
      ].sort(),
    );
    const audits = await f.db.prisma.auditLog.findMany({
      where: { action: 'transition.plan', entityId: { in: plans.map((p) => p.id) } },
    });
    expect(audits.map((row) => row.actor).sort()).toEqual(Array(3).fill('program_manager:one'));
    // stamped now, in UTC as Prisma stores times (not shifted by the time zone of this process or the server)
    for (const at of [...plans.map((p) => p.createdAt), ...audits.map((row) => row.at)]) {
      expect(Math.abs(at.getTime() - Date.now())).toBeLessThan(60_000);
    }

    // and a later start of `a` (another batch) answers the stored plan, stores nothing and audits nothing more
    const again = await starts.plans.load({ engagementId: a, plan: plan([100]), actor: 'program_manager:three' });
    expect(again).toEqual(stored[0]);
    expect(await f.db.prisma.transitionPhase.count({ where: { plan: { engagementId: a } } })).toBe(planA.phases.length);
    expect(await f.db.prisma.auditLog.count({ where: { actor: 'program_manager:three' } })).toBe(0);
  });

  it('fails only the start whose plan cannot be stored; the others of its batch are stored', async () => {
    const { starts } = counted();
    const [d, e] = engagementIds.slice(4);
    const noSuchEngagement = '00000000-0000-4000-8000-000000000001';

    const results = await Promise.allSettled([
      starts.plans.load({ engagementId: d, plan: plan([100]), actor: 'program_manager:one' }),
      starts.plans.load({ engagementId: noSuchEngagement, plan: plan([100]), actor: 'program_manager:one' }),
      starts.plans.load({ engagementId: e, plan: plan([100]), actor: 'program_manager:one' }),
    ]);

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await f.db.prisma.transitionPlan.count({ where: { engagementId: { in: [d, e] } } })).toBe(2);
    expect(await f.db.prisma.transitionPlan.count({ where: { engagementId: noSuchEngagement } })).toBe(0);
  });
});
