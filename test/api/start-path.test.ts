import type { Pool } from 'pg';
import { poolOf } from '../../src/db';
import {
  earliestPlanEnd,
  prepareStart,
  startStatements,
  type StartRequest,
  type StartStatements,
} from '../../src/api/start-path';
import type { Principal } from '../../src/api/auth';
import type { AuditBatches } from '../../src/audit';
import { ProblemError } from '../../src/api/problem';
import { planFromBody } from '../../src/api/transition';
import { startTransitionBody } from '../../src/api/schemas';
import { anEngagement, aVendor } from '../builders/engagement';
import { startApiFixture } from '../helpers/api-fixture';

type Fixture = Awaited<ReturnType<typeof startApiFixture>>;

/** The start path's statement against a real PostgreSQL: the starts of one moment, one statement. */
describe('start path', () => {
  let f: Fixture;
  let vendorId: string;
  let otherVendorId: string;
  let ids: string[];
  beforeAll(async () => {
    f = await startApiFixture();
    const pm = await f.api.as('PROGRAM_MANAGER');
    vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    otherVendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    ids = [];
    for (let i = 0; i < 10; i++) {
      ids.push((await pm('POST', '/engagements', anEngagement(vendorId, { name: `E${i}` }))).body.id);
    }
  });
  afterAll(() => f.close());

  /** Start statements and start audits on the database's pool, counting the statements they send. */
  function counted(): { starts: StartStatements; audits: AuditBatches; statements: () => number } {
    let statements = 0;
    const pool = poolOf(f.db.prisma);
    const counting = {
      query: (...args: Parameters<Pool['query']>) => {
        statements++;
        return (pool.query as (...a: unknown[]) => unknown)(...args);
      },
    } as unknown as Pool;
    const { starts, startAudits: audits } = startStatements(counting);
    return { starts, audits, statements: () => statements };
  }

  const plan = (waves: number[], gateThreshold = 80) => ({
    ...planFromBody(startTransitionBody.parse({ waves })),
    gateThreshold,
  });
  const request = (engagementId: string, overrides: Partial<StartRequest> = {}): StartRequest => ({
    engagementId,
    vendorId: null,
    plan: plan([100]),
    actor: 'program_manager:one',
    ...overrides,
  });
  const plansOf = (engagementIds: string[]) =>
    f.db.prisma.transitionPlan.findMany({
      where: { engagementId: { in: engagementIds } },
      include: { phases: { orderBy: { sequence: 'asc' } } },
    });

  it('reads the engagements and stores the plans of concurrent starts in one statement, each plan once with its phases and audit row', async () => {
    const { starts, statements } = counted();
    const [a, b, c] = ids;
    const missing = '00000000-0000-4000-8000-000000000000';
    const [planA, planB, planC] = [plan([10, 50, 100], 82.345), plan([25, 100]), plan([50, 100])];

    // when four starts come at one moment, two of them for `a` with different plans, and one for no engagement
    const answers = await Promise.all([
      starts.load(request(a, { plan: planA })),
      starts.load(request(b, { plan: planB })),
      starts.load(request(a, { plan: plan([100]), actor: 'program_manager:two' })),
      starts.load(request(c, { plan: planC })),
      starts.load(request(missing)),
    ]);

    // then one statement answered them all: both starts of `a` get its first plan, as stored (the threshold rounded)
    expect(statements()).toBe(1);
    expect(answers.map((e) => e?.id ?? null)).toEqual([a, b, a, c, null]);
    expect(answers.map((e) => e?.transitionPlan ?? null)).toEqual([
      { ...planA, gateThreshold: 82.35 },
      planB,
      { ...planA, gateThreshold: 82.35 },
      planC,
      null,
    ]);
    expect(answers[0]).toMatchObject({ vendorId, stage: 'CONTRACTED', slaCount: 2, renewalNoticeDays: 90 });
    // the term's dates as the API stores them (UTC midnight), whatever the time zone of this process or the server
    expect([answers[0]!.termStart.toISOString(), answers[0]!.termEnd.toISOString()]).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2028-12-31T00:00:00.000Z',
    ]);
    // and the database holds each plan once, with its phases, audited once by the start that stored it
    const plans = await plansOf([a, b, c]);
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
    expect(audits.map((row) => row.actor)).toEqual(Array(3).fill('program_manager:one'));
    // stamped now, in UTC as Prisma stores times (not shifted by the time zone of this process or the server)
    for (const at of [...plans.map((p) => p.createdAt), ...audits.map((row) => row.at)]) {
      expect(Math.abs(at.getTime() - Date.now())).toBeLessThan(60_000);
    }

    // and a later start of `a` answers the stored plan, stores nothing and audits nothing more
    const again = await starts.load(request(a, { actor: 'program_manager:three' }));
    expect(again!.transitionPlan).toEqual({ ...planA, gateThreshold: 82.35 });
    expect(await f.db.prisma.transitionPhase.count({ where: { plan: { engagementId: a } } })).toBe(planA.phases.length);
    expect(await f.db.prisma.auditLog.count({ where: { actor: 'program_manager:three' } })).toBe(0);
  });

  it('reads only the engagement each start names, however many there are, once its statement is planned for any input', async () => {
    // given a portfolio of 500 more engagements, known to the planner
    const pm = await f.api.as('PROGRAM_MANAGER');
    const id: string = (await pm('POST', '/engagements', anEngagement(vendorId, { name: 'Large portfolio' }))).body.id;
    const pool = poolOf(f.db.prisma);
    await pool.query(
      `DO $$ DECLARE columns text; BEGIN
         SELECT string_agg(quote_ident(column_name), ', ') INTO columns FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = 'Engagement' AND column_name <> 'id';
         EXECUTE format('INSERT INTO "Engagement" ("id", %1$s) SELECT gen_random_uuid(), %1$s FROM "Engagement",
                         generate_series(1, 500) WHERE "id" = %2$L', columns, '${id}');
       END $$`,
    );
    await pool.query('ANALYZE "Engagement"');
    // and the statement of one start, as the start path sends it
    let sent: { text: string; values: unknown[] } | undefined;
    const capturing = {
      query: (config: { name?: string; text: string; values: unknown[] }) => {
        if (config.name === 'start') sent = config;
        return pool.query(config);
      },
    } as unknown as Pool;
    await startStatements(capturing).starts.load(request(id));

    // when it runs on the plan PostgreSQL keeps for a prepared statement (generic: made for any input)
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SET LOCAL plan_cache_mode = 'force_generic_plan'");
      await client.query(`PREPARE generic_start (jsonb, timestamptz, text[], jsonb) AS ${sent!.text}`);
      const [json, now, stages, started] = sent!.values as [string, string, string[], string];
      const {
        rows: [{ 'QUERY PLAN': explained }],
      } = await client.query(
        `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE generic_start(${client.escapeLiteral(json)}, ` +
          `${client.escapeLiteral(now)}, ${client.escapeLiteral(`{${stages.join(',')}}`)}, ` +
          `${client.escapeLiteral(started)})`,
      );
      // then it reads one engagement row, the one the start names, not the table
      expect(engagementRowsRead(explained[0].Plan)).toBe(1);
    } finally {
      // Not back to the pool: the connection holds the statement prepared here, and its transaction.
      client.release(true);
    }
  });

  it('gives engagements, and the plans, phases and audit rows a start stores, time-ordered ids (UUID v7)', async () => {
    // the engagements were created one after the other: their ids sort in that order, as PostgreSQL compares uuids
    const version = (id: string) => id[14];
    expect(ids.map(version)).toEqual(Array(ids.length).fill('7'));
    const sorted = await f.db.prisma.engagement.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } });
    expect(sorted.map((e) => e.id)).toEqual(ids);

    // and a start's own rows get time-ordered ids too, later than the engagement's
    const { starts } = counted();
    const pm = await f.api.as('PROGRAM_MANAGER');
    const e: string = (await pm('POST', '/engagements', anEngagement(vendorId, { name: 'Ordered' }))).body.id;
    expect(e > ids[9]).toBe(true);
    await starts.load(request(e, { plan: plan([30, 100]), actor: 'program_manager:ordered' }));
    const [stored] = await plansOf([e]);
    const audit = await f.db.prisma.auditLog.findFirstOrThrow({ where: { actor: 'program_manager:ordered' } });
    const rowIds = [stored.id, ...stored.phases.map((p) => p.id), audit.id];
    expect(rowIds.map(version)).toEqual(Array(rowIds.length).fill('7'));
    expect(rowIds.every((id) => id > e)).toBe(true);
  });

  it('stores no plan where the engagement is out of the key’s scope, past its transition, or without SLAs', async () => {
    const { starts } = counted();
    const [outOfScope, steady, noSlas] = ids.slice(3);
    await f.db.prisma.engagement.update({ where: { id: steady }, data: { stage: 'STEADY_STATE' } });
    await f.db.prisma.sla.deleteMany({ where: { engagementId: noSlas } });

    const answers = await Promise.all([
      starts.load(request(outOfScope, { vendorId: otherVendorId })),
      starts.load(request(steady)),
      starts.load(request(noSlas)),
    ]);

    expect(answers.map((e) => e && [e.stage, e.slaCount, e.transitionPlan])).toEqual([
      null,
      ['STEADY_STATE', 2, null],
      ['CONTRACTED', 0, null],
    ]);
    expect(await plansOf([outOfScope, steady, noSlas])).toEqual([]);
    // and the vendor the engagement belongs to does see it
    expect((await starts.load(request(outOfScope, { vendorId })))?.id).toBe(outOfScope);
  });

  it('refuses a start that asks for another plan than the one an earlier start stored; a bodyless repeat runs it', async () => {
    const { starts } = counted();
    const pm: Principal = { keyId: 'k', name: 'one', role: 'PROGRAM_MANAGER', vendorId: null };
    const id = ids[9];
    // a threshold with more decimals than the column keeps (82.345 is stored as 82.35) is still the same plan
    const first = plan([50, 100], 82.345);
    await prepareStart(starts, pm, id, first, 'program_manager:one', true);

    const other = await prepareStart(starts, pm, id, plan([25, 100]), 'program_manager:one', true).catch((e) => e);
    expect(other).toBeInstanceOf(ProblemError);
    expect([other.status, other.detail]).toEqual([409, expect.stringContaining('already has a transition plan')]);

    const sameAgain = await prepareStart(starts, pm, id, plan([50, 100], 82.345), 'program_manager:one', true);
    const bodyless = await prepareStart(starts, pm, id, plan([10, 25, 50, 100]), 'program_manager:one', false);
    for (const answer of [sameAgain, bodyless]) {
      expect(answer.transitionPlan!.phases.map((p) => p.volumePct)).toEqual(first.phases.map((p) => p.volumePct));
    }
    expect(await plansOf([id])).toHaveLength(1);
  });

  it('refuses a lifecycle start in EXIT with no exit plan to take up, and any start once CLOSED', async () => {
    // given an engagement set to EXIT without a stored exit plan (a seeded one), and one CLOSED
    const pmApi = await f.api.as('PROGRAM_MANAGER');
    const make = async (name: string) =>
      (await pmApi('POST', '/engagements', anEngagement(vendorId, { name }))).body.id as string;
    const [exiting, closed] = [await make('Exiting'), await make('Closed')];
    await f.db.prisma.engagement.update({ where: { id: exiting }, data: { stage: 'EXIT' } });
    await f.db.prisma.engagement.update({ where: { id: closed }, data: { stage: 'CLOSED' } });

    // then a lifecycle start has no exit to take up there (a start in EXIT takes up the stored plan), and a transition
    // start is refused in EXIT as before; nothing starts once CLOSED
    const lifecycle = await pmApi('POST', `/engagements/${exiting}/lifecycle`);
    expect(lifecycle.status).toBe(409);
    expect(lifecycle.body.detail).toBe(
      'the engagement is in EXIT with no exit plan stored: there is no exit to take up',
    );
    expect((await pmApi('POST', `/engagements/${exiting}/transition`)).body.detail).toBe(
      'engagement is in stage EXIT: it has exited',
    );
    expect((await pmApi('POST', `/engagements/${closed}/lifecycle`)).body.detail).toBe(
      'engagement is in stage CLOSED: it has exited',
    );
  });

  it('refuses a lifecycle start whose transition cannot end before the renewal notice deadline, storing nothing', async () => {
    // given an engagement whose term began today and ends in five months, with 90 days' notice (deadline in ~2 months)
    const pmApi = await f.api.as('PROGRAM_MANAGER');
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const { body: e } = await pmApi(
      'POST',
      '/engagements',
      anEngagement(vendorId, { name: 'Short term', termStart: day(0), termEnd: day(150), renewalNoticeDays: 90 }),
    );

    // when its lifecycle is started with the default 16-week plan
    const planAudits = () => f.db.prisma.auditLog.count({ where: { action: 'transition.plan' } });
    const auditsBefore = await planAudits();
    const refused = await pmApi('POST', `/engagements/${e.id}/lifecycle`);

    // then it is refused with both dates, and no plan or audit row is written
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(
      /^the transition plan runs until \d{4}-\d{2}-\d{2} at the earliest, past the renewal notice deadline \d{4}-\d{2}-\d{2}/,
    );
    expect(await plansOf([e.id])).toHaveLength(0);
    expect(await planAudits()).toBe(auditsBefore);
    // a plan short enough to end in time is stored (the workflow start itself needs Temporal: not asked here)
    const { starts } = counted();
    const pm: Principal = { keyId: 'k', name: 'one', role: 'PROGRAM_MANAGER', vendorId: null };
    const oneWave = {
      ...plan([100]),
      phases: [
        { kind: 'RAMP_WAVE' as const, name: 'all', volumePct: 100, minDurationSeconds: 30 * 86_400, gated: true },
      ],
    };
    const short = await prepareStart(starts, pm, e.id, oneWave, 'program_manager:one', true, true);
    expect(short.transitionPlan!.phases.map((p) => p.name)).toEqual(['all']);
    expect(await plansOf([e.id])).toHaveLength(1);
  });

  it('counts a running transition from where its phases stand when a lifecycle start checks the notice deadline', async () => {
    // given an engagement whose term began 60 days ago and whose notice deadline is ~60 days away, with a stored
    // two-phase plan (4 + 8 weeks) whose first phase is done and whose second started 20 days ago (ends in ~36 days)
    const pmApi = await f.api.as('PROGRAM_MANAGER');
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const { body: e } = await pmApi(
      'POST',
      '/engagements',
      anEngagement(vendorId, { name: 'Mid-transition', termStart: day(-60), termEnd: day(150), renewalNoticeDays: 90 }),
    );
    const twoPhases = {
      ...plan([100]),
      phases: [
        { kind: 'PILOT' as const, name: 'wave-1', volumePct: 50, minDurationSeconds: 28 * 86_400, gated: true },
        { kind: 'RAMP_WAVE' as const, name: 'wave-2', volumePct: 100, minDurationSeconds: 56 * 86_400, gated: true },
      ],
    };
    const pm: Principal = { keyId: 'k', name: 'one', role: 'PROGRAM_MANAGER', vendorId: null };
    const { starts } = counted();
    await prepareStart(starts, pm, e.id, twoPhases, 'program_manager:one', true);
    const [stored] = await plansOf([e.id]);
    const at = (offset: number) => new Date(Date.now() + offset * 86_400_000);
    await f.db.prisma.$transaction([
      f.db.prisma.engagement.update({ where: { id: e.id }, data: { stage: 'TRANSITION' } }),
      f.db.prisma.transitionPhase.update({
        where: { id: stored.phases[0].id },
        data: { status: 'PASSED', startedAt: at(-50), completedAt: at(-20) },
      }),
      f.db.prisma.transitionPhase.update({
        where: { id: stored.phases[1].id },
        data: { status: 'ACTIVE', startedAt: at(-20) },
      }),
    ]);

    // when the lifecycle is started over it (the whole plan from today would run 84 days, past the deadline)
    const accepted = await prepareStart(counted().starts, pm, e.id, twoPhases, 'program_manager:one', false, true);

    // then it is accepted: the transition can end in ~36 days
    expect(accepted.phaseProgress!.map((p) => [p.startedAtMs !== null, p.completedAtMs !== null])).toEqual([
      [true, true],
      [true, false],
    ]);
    // and had the second phase only just started, 56 days would still end before the deadline; a phase started
    // today of 70 days would not
    await f.db.prisma.transitionPhase.update({
      where: { id: stored.phases[1].id },
      data: { minDurationSeconds: 70 * 86_400, startedAt: at(0) },
    });
    const refused = await prepareStart(counted().starts, pm, e.id, twoPhases, 'program_manager:one', false, true).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ProblemError);
    expect((refused as ProblemError).status).toBe(409);
  });

  it('counts a transition that began before the term from now, not from the term start', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const day = 86_400_000;
    const phases = [
      { kind: 'PILOT' as const, name: 'wave-1', volumePct: 50, minDurationSeconds: 30 * 86_400, gated: true },
      { kind: 'RAMP_WAVE' as const, name: 'wave-2', volumePct: 100, minDurationSeconds: 60 * 86_400, gated: true },
    ];
    const termStart = new Date(now + 100 * day);
    // not begun: from the term start
    expect(earliestPlanEnd({ termStart, phaseProgress: null }, { ...plan([100]), phases }, now)).toBe(now + 190 * day);
    // its first phase running for 10 days: 20 more, then 60
    const running = [
      { startedAtMs: now - 10 * day, completedAtMs: null },
      { startedAtMs: null, completedAtMs: null },
    ];
    expect(earliestPlanEnd({ termStart, phaseProgress: running }, { ...plan([100]), phases }, now)).toBe(
      now + 80 * day,
    );
  });

  it('answers the plan another statement stored first', async () => {
    const [g] = ids.slice(6);
    const [first, second] = [counted(), counted()];

    const [one, two] = await Promise.all([
      first.starts.load(request(g, { plan: plan([20, 100]) })),
      second.starts.load(request(g, { plan: plan([100]) })),
    ]);

    expect(one!.transitionPlan).toEqual(two!.transitionPlan);
    expect((await plansOf([g])).map((p) => p.phases.length)).toEqual([one!.transitionPlan!.phases.length]);
    expect(
      await f.db.prisma.auditLog.count({ where: { action: 'transition.plan', entityId: (await plansOf([g]))[0].id } }),
    ).toBe(1);
  });

  it('fails only the start whose plan cannot be stored; the others of its statement are answered', async () => {
    const { starts } = counted();
    const [d, e] = ids.slice(7);
    const unknownPhaseKind = plan([100]);
    unknownPhaseKind.phases[0] = { ...unknownPhaseKind.phases[0], kind: 'NO_SUCH_KIND' as never };

    const results = await Promise.allSettled([
      starts.load(request(d)),
      starts.load(request(e, { plan: unknownPhaseKind })),
      starts.load(request(ids[9])),
    ]);

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await plansOf([d, e, ids[9]])).map((p) => p.engagementId).sort()).toEqual([d, ids[9]].sort());
  });

  it('puts the starts of one moment on record in one statement, each run once however often it is repeated', async () => {
    const { audits, statements } = counted();
    const started = (runId: string, actor: string) => ({
      actor,
      action: 'transition.start',
      entityType: 'Engagement',
      entityId: ids[0],
      after: { runId },
      key: `transition-start/${runId}`,
    });

    // when three starts of one moment are recorded, two of them repeats of one run (a retried request)
    await Promise.all([
      audits.load(started('run-one', 'program_manager:first')),
      audits.load(started('run-one', 'program_manager:repeat')),
      audits.load(started('run-two', 'program_manager:first')),
    ]);
    // and that run is recorded once more, later
    await audits.load(started('run-one', 'program_manager:later'));

    // then the three went in one statement, and each run is on record once, as its first start recorded it
    expect(statements()).toBe(2);
    const rows = await f.db.prisma.auditLog.findMany({
      where: { idempotencyKey: { in: ['transition-start/run-one', 'transition-start/run-two'] } },
      orderBy: { idempotencyKey: 'asc' },
    });
    expect(rows.map((row) => [row.idempotencyKey, row.actor, row.after])).toEqual([
      ['transition-start/run-one', 'program_manager:first', { runId: 'run-one' }],
      ['transition-start/run-two', 'program_manager:first', { runId: 'run-two' }],
    ]);
    expect(rows.every((row) => Math.abs(row.at.getTime() - Date.now()) < 60_000)).toBe(true);
  });

  it('puts a workflow started on record in the statement of the starts of its moment', async () => {
    const { starts, audits, statements } = counted();
    const pm = await f.api.as('PROGRAM_MANAGER');
    const id: string = (await pm('POST', '/engagements', anEngagement(vendorId, { name: 'Started together' }))).body.id;

    // when a start and the record of a workflow another start began come at one moment
    const [engagement] = await Promise.all([
      starts.load(request(id)),
      audits.load({
        actor: 'program_manager:one',
        action: 'transition.start',
        entityType: 'Engagement',
        entityId: ids[0],
        after: { runId: 'run-together' },
        key: 'transition-start/run-together',
      }),
    ]);

    // then both went in one statement: the plan is stored with its audit row, and the workflow is on record
    expect(statements()).toBe(1);
    expect(engagement?.transitionPlan?.phases).toEqual(plan([100]).phases);
    const [stored] = await plansOf([id]);
    const rows = await f.db.prisma.auditLog.findMany({
      where: { OR: [{ entityId: stored.id }, { idempotencyKey: 'transition-start/run-together' }] },
      orderBy: { action: 'asc' },
    });
    expect(rows.map((row) => [row.action, row.entityId, row.actor])).toEqual([
      ['transition.plan', stored.id, 'program_manager:one'],
      ['transition.start', ids[0], 'program_manager:one'],
    ]);
  });
});

/** A plan node of `EXPLAIN (ANALYZE, FORMAT JSON)`, as far as the rows it read from a table go (per loop). */
interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** How many rows of "Engagement" the nodes of a plan read, in all their loops: those they kept and those they removed. */
function engagementRowsRead(node: PlanNode): number {
  const perLoop =
    node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0);
  const own = node['Relation Name'] === 'Engagement' ? perLoop * node['Actual Loops'] : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + engagementRowsRead(child), 0);
}
