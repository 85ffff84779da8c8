import etag from 'etag';
import { PORTFOLIO_FACTS, portfolioFacts } from '../../src/api/portfolio';
import { issueApiKey } from '../../src/auth/api-keys';
import { poolOf } from '../../src/db';
import { loadDemoPortfolio } from '../../src/seed/load';
import { anEngagement, aVendor } from '../builders/engagement';
import { startApiFixture } from '../helpers/api-fixture';
import { eventually } from '../helpers/wait';

type Fixture = Awaited<ReturnType<typeof startApiFixture>>;
interface Row {
  id: string;
  name: string;
  stage: string;
  vendor: { id: string };
  score: number | null;
  health: string;
  volumePct: number | null;
  creditsThisQuarter: string;
  nextMilestone: { at: string } | null;
  workflowUrl: string;
}

describe('GET /portfolio', () => {
  let f: Fixture;
  let pm: Awaited<ReturnType<Fixture['api']['as']>>;
  beforeAll(async () => {
    f = await startApiFixture();
    await loadDemoPortfolio(f.db.prisma, { engagements: 30, today: new Date() });
    pm = await f.api.as('PROGRAM_MANAGER');
  });
  afterAll(() => f.close());

  const rows = async (query: string) => {
    const res = await pm('GET', `/portfolio?${query}`);
    expect(res.status).toBe(200);
    return res.body as { items: Row[]; total: number; counts: { byStage: Record<string, number> } };
  };

  it('lists every engagement with its stage, counts by stage, and a link to its lifecycle workflow', async () => {
    const all = await rows('limit=500');
    const stored = await f.db.prisma.engagement.findMany({ select: { id: true, stage: true } });
    expect(all.total).toBe(30);
    expect(new Map(all.items.map((r) => [r.id, r.stage]))).toEqual(new Map(stored.map((e) => [e.id, e.stage])));
    expect(Object.values(all.counts.byStage).reduce((a, b) => a + b, 0)).toBe(30);
    expect(all.items[0].workflowUrl).toMatch(/\/namespaces\/default\/workflows\/engagement-.+-lifecycle$/);
    // the seed reviewed the last three months of everything past its transition
    const reviewed = all.items.filter((r) => ['STEADY_STATE', 'RENEWAL', 'EXIT'].includes(r.stage));
    expect(reviewed.every((r) => r.score !== null && r.volumePct === 100)).toBe(true);
  });

  it('answers a kept page with the ETag of its bytes, and 304 to a request that has them', async () => {
    const { key } = await issueApiKey(f.db.prisma, { name: 'portfolio-etag', role: 'PROGRAM_MANAGER' });
    const get = (headers: Record<string, string> = {}) =>
      fetch(`${f.api.url}/portfolio?limit=10`, { headers: { authorization: `Bearer ${key}`, ...headers } });

    // when the same page is asked for twice
    const first = await get();
    const text = await first.text();
    const second = await get();

    // then both carry the weak ETag of the page's bytes, as Express computes it for a body it hashes itself
    expect(first.headers.get('etag')).toBe(etag(text, { weak: true }));
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(await second.text()).toBe(text);
    // and a request that has them is told nothing changed
    // (fetch adds `cache-control: no-cache` to a conditional request unless it has a cache-control of its own)
    const again = await get({ 'if-none-match': first.headers.get('etag')!, 'cache-control': 'max-age=0' });
    expect(again.status).toBe(304);
  });

  it('filters by stage and vendor, sorts by a computed column, and pages', async () => {
    const steady = await rows('stage=STEADY_STATE&limit=500');
    expect(steady.items.every((r) => r.stage === 'STEADY_STATE')).toBe(true);
    const vendorId = steady.items[0].vendor.id;
    const ofVendor = await rows(`vendorId=${vendorId}&limit=500`);
    expect(ofVendor.items.length).toBeGreaterThan(0);
    expect(ofVendor.items.every((r) => r.vendor.id === vendorId)).toBe(true);

    const byScore = await rows('sort=score&order=desc&limit=500');
    const scores = byScore.items.map((r) => r.score).filter((s): s is number => s !== null);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    // rows without a score go last, whichever the order
    expect(byScore.items.slice(scores.length).every((r) => r.score === null)).toBe(true);

    const first = await rows('sort=name&limit=10&offset=0');
    const second = await rows('sort=name&limit=10&offset=10');
    expect(first.items).toHaveLength(10);
    expect(first.items.map((r) => r.id)).not.toEqual(expect.arrayContaining(second.items.map((r) => r.id)));
    const names = [...first.items, ...second.items].map((r) => r.name.toLowerCase());
    expect(names).toEqual([...names].sort());
  });

  it('a vendor key sees only its own engagements, whatever vendor it asks for', async () => {
    const vendor = await f.db.prisma.vendor.findFirstOrThrow({ where: { engagements: { some: {} } } });
    const other = await f.db.prisma.vendor.findFirstOrThrow({
      where: { id: { not: vendor.id }, engagements: { some: {} } },
    });
    const asVendor = await f.api.as('VENDOR', vendor.id);
    const own = await asVendor('GET', '/portfolio?limit=500');
    const expected = await f.db.prisma.engagement.count({ where: { vendorId: vendor.id } });
    expect(own.body.total).toBe(expected);
    expect(own.body.items.every((r: Row) => r.vendor.id === vendor.id)).toBe(true);
    expect((await asVendor('GET', `/portfolio?vendorId=${other.id}`)).body.total).toBe(0);
  });

  it('reads dates and times as stored, in UTC, whatever the time zone of the session or the process', async () => {
    const iso = (d: Date | null) => d?.toISOString() ?? null;
    // A phase started and a gate judged either side of midnight UTC, and an exit step due on a date.
    const [inTransition, exiting] = await f.db.prisma.engagement.findMany({
      where: { transitionPlan: null, exitPlan: null },
      take: 2,
    });
    await f.db.prisma.transitionPlan.create({
      data: {
        engagementId: inTransition.id,
        gateThreshold: 80,
        holdSeconds: 60,
        maxConsecutiveFailures: 3,
        phases: {
          create: [
            {
              sequence: 1,
              kind: 'KNOWLEDGE_TRANSFER',
              name: 'wave-1',
              volumePct: 10,
              minDurationSeconds: 60,
              status: 'ACTIVE',
              startedAt: new Date('2026-10-03T23:30:00.123Z'),
              gateEvaluations: {
                create: [{ attempt: 1, passed: false, details: {}, evaluatedAt: new Date('2026-10-04T00:15:00.456Z') }],
              },
            },
          ],
        },
      },
    });
    await f.db.prisma.exitPlan.create({
      data: {
        engagementId: exiting.id,
        reason: 'insourcing',
        steps: { create: [{ kind: 'ACCESS_REVOCATION', owner: 'vendor', dueOn: new Date('2026-12-31') }] },
      },
    });
    const stored = await f.db.prisma.engagement.findMany({
      include: {
        transitionPlan: {
          include: { phases: { where: { status: { in: ['ACTIVE', 'HELD'] } }, include: { gateEvaluations: true } } },
        },
        exitPlan: { include: { steps: { where: { completedAt: null }, orderBy: { dueOn: 'asc' } } } },
      },
    });
    const expected = new Map(
      stored.map((e) => {
        const phase = e.transitionPlan?.phases.sort((a, b) => a.sequence - b.sequence)[0];
        const gate = phase?.gateEvaluations.map((g) => g.evaluatedAt).sort((a, b) => b.getTime() - a.getTime())[0];
        return [
          e.id,
          [iso(e.termEnd), iso(phase?.startedAt ?? null), iso(gate ?? null), iso(e.exitPlan?.steps[0]?.dueOn ?? null)],
        ] as const;
      }),
    );
    const times = (rows: Awaited<ReturnType<typeof portfolioFacts>>) =>
      new Map(rows.map((r) => [r.id, [r.termEnd, r.phaseStartedAt, r.lastGateAt, r.exitDueOn]]));
    expect(times(await portfolioFacts(f.db.prisma, undefined, new Date(Date.UTC(2026, 9, 1))))).toEqual(expected);
    // The statement formats them itself: a session in another time zone reads the same.
    const pool = poolOf(f.db.prisma);
    for (const zone of ['Asia/Kolkata', 'America/Los_Angeles']) {
      const client = await pool.connect();
      try {
        await client.query(`SET TIME ZONE '${zone}'`);
        const { rows } = await client.query(PORTFOLIO_FACTS, ['2026-10-01', null]);
        expect(times(rows[0].facts)).toEqual(expected);
      } finally {
        await client.query('RESET TIME ZONE');
        client.release();
      }
    }
    expect(expected.get(inTransition.id)).toEqual([
      iso(inTransition.termEnd),
      '2026-10-03T23:30:00.123Z',
      '2026-10-04T00:15:00.456Z',
      null,
    ]);
    expect(expected.get(exiting.id)?.[3]).toBe('2026-12-31T00:00:00.000Z');
  });

  it('counts steady state from its first reaching it: a renewal’s new term does not move it', async () => {
    const [e] = await f.db.prisma.engagement.findMany({ where: { stageChanges: { none: {} } }, take: 1 });
    // the transition ended on 20 November; the renewal opened a new term on 1 January
    await f.db.prisma.stageChange.createMany({
      data: [
        ['TRANSITION', '2026-11-20T09:00:00.000Z'],
        ['RENEWAL', '2027-01-01T00:00:00.000Z'],
      ].map(([fromStage, at], i) => ({
        engagementId: e.id,
        fromStage: fromStage as 'TRANSITION' | 'RENEWAL',
        toStage: 'STEADY_STATE' as const,
        occurredAt: new Date(at),
        idempotencyKey: `steady-${e.id}-${i}`,
      })),
    });
    const facts = await portfolioFacts(f.db.prisma, undefined, new Date(Date.UTC(2027, 0, 2)));
    // governance reviews on from the first (it used to read the second: December's review, due on 4 January, was not
    // shown)
    expect(facts.find((r) => r.id === e.id)?.steadySince).toBe('2026-11-20T09:00:00.000Z');
  });

  it('shows no volume with the vendor for an engagement whose transition was cancelled before it moved any', async () => {
    const vendorId = (await pm('POST', '/vendors', aVendor({ legalName: 'Cancelled Ramp BPO' }))).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId, { name: 'Terminated in transfer' }));
    await f.db.prisma.transitionPlan.create({
      data: {
        engagementId: e.id,
        gateThreshold: 95,
        holdSeconds: 86_400,
        maxConsecutiveFailures: 3,
        phases: {
          create: [
            {
              sequence: 1,
              kind: 'KNOWLEDGE_TRANSFER',
              name: 'knowledge-transfer',
              volumePct: 0,
              minDurationSeconds: 86_400,
              gated: false,
              status: 'CANCELLED',
            },
          ],
        },
      },
    });
    await f.db.prisma.engagement.update({ where: { id: e.id }, data: { stage: 'EXIT' } });
    await f.api.heardEverything();

    const [row] = (await rows('q=Terminated%20in%20transfer')).items;
    expect(row).toMatchObject({ id: e.id, stage: 'EXIT', volumePct: 0 });
  });

  it('shows no volume with the vendor for a closed engagement, whatever its transition last moved', async () => {
    const vendorId = (await pm('POST', '/vendors', aVendor({ legalName: 'Ramped And Gone BPO' }))).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId, { name: 'Ramped then closed' }));
    await f.db.prisma.volumeChange.create({
      data: {
        engagementId: e.id,
        fromPct: 50,
        toPct: 100,
        reason: 'wave-3 started',
        occurredAt: new Date('2026-03-01T00:00:00Z'),
        idempotencyKey: `${e.id}/phase-4/start`,
      },
    });
    await f.db.prisma.engagement.update({ where: { id: e.id }, data: { stage: 'CLOSED' } });
    await f.api.heardEverything();

    const [row] = (await rows('q=Ramped%20then%20closed')).items;
    expect(row).toMatchObject({ id: e.id, stage: 'CLOSED', volumePct: 0 });
  });

  it('refuses an unknown sort column with the field and the reason', async () => {
    const res = await pm('GET', '/portfolio?sort=colour');
    expect(res.status).toBe(400);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body.invalidFields).toEqual([{ field: 'query.sort', reason: expect.stringContaining('name') }]);
  });

  it('tells the dashboard who the key belongs to', async () => {
    const me = await pm('GET', '/me');
    expect(me.body).toMatchObject({
      name: 'test-program_manager',
      role: 'PROGRAM_MANAGER',
      vendor: null,
      namespace: 'default',
    });
  });
});

/**
 * The portfolio's facts are read again only when PostgreSQL announces a change to what it shows (or this API wrote):
 * with a period of 200 ms, a change made with the triggers off stays unseen across many refreshes, and one the
 * triggers announce shows at once.
 */
describe('GET /portfolio facts kept until a change is heard', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startApiFixture({ readCacheMs: 200 });
    await loadDemoPortfolio(f.db.prisma, { engagements: 10, today: new Date() });
  });
  afterAll(() => f.close());

  it('serves the facts it read until a change is announced, and reads them again then', async () => {
    const pm = await f.api.as('PROGRAM_MANAGER');
    const review = await f.db.prisma.review.findFirstOrThrow({
      where: { cadence: 'MONTHLY', overallScore: { not: null } },
      orderBy: { periodStart: 'desc' },
      include: { engagement: { select: { vendorId: true } } },
    });
    // The seed's announcements heard first, then the vendor's portfolio (a scope of its own) read for the first
    // time: its facts are read after every change announced so far, so none can make them be read again below.
    await f.api.heardEverything();
    const rowOf = async (id: string) =>
      ((await pm('GET', `/portfolio?limit=500&vendorId=${review.engagement.vendorId}`)).body.items as Row[]).find(
        (r) => r.id === id,
      )!;
    const before = await rowOf(review.engagementId);
    expect(before.score).toBe(Number(review.overallScore));

    // Unannounced (triggers off for the transaction): refreshes every 100–200 ms keep serving the facts read before.
    await f.db.prisma.$transaction([
      f.db.prisma.$executeRaw`SET LOCAL session_replication_role = replica`,
      f.db.prisma.review.update({ where: { id: review.id }, data: { overallScore: 1 } }),
    ]);
    const until = Date.now() + 1_500;
    while (Date.now() < until) {
      expect((await rowOf(review.engagementId)).score).toBe(before.score);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // An escalation raised elsewhere (a workflow's activity, another API process) is announced: both changes show.
    await f.db.prisma.escalation.create({
      data: {
        engagementId: review.engagementId,
        severity: 'P1',
        category: 'csat',
        title: 'Satisfaction collapsed',
        description: 'below minimum',
        raisedBy: 'test',
        raisedAt: new Date(),
        idempotencyKey: `${review.engagementId}/test-p1`,
      },
    });
    const after = await eventually(
      () => rowOf(review.engagementId),
      (r) => r.score === 1,
      5_000,
    );
    expect(after.health).toBe('CRITICAL');
  });
});
