import { setImmediate } from 'node:timers/promises';
import { z } from 'zod';
import { Prisma } from '../generated/prisma/client';
import type { Config } from '../config';
import { poolOf, type PrismaClient } from '../db';
import { lifecycleWorkflowId } from '../domain/lifecycle';
import {
  HEALTHS,
  healthOf,
  nextMilestoneUntil,
  periodsAt,
  trendOf,
  type EngagementFacts,
  type Health,
  type Milestone,
  type PeriodNow,
} from '../domain/portfolio';
import { LIFECYCLE_STAGES, type LifecycleStage } from '../domain/lifecycle';
import type { ReviewCadence, Severity } from '../domain/types';
import { engagementScope, seesVendor } from './auth';
import type { EngagementChanges } from './engagement-changes';
import { FACTS_KEPT_MS, workflowUrl } from './engagements';
import { readCache, serialised } from './read-cache';
import type { ApiRoutes } from './route';

export const PORTFOLIO_SORTS = [
  'name',
  'vendor',
  'deliveryModel',
  'stage',
  'phase',
  'volumePct',
  'score',
  'credits',
  'escalations',
  'nextMilestone',
  'health',
] as const;

export const portfolioQuery = z.strictObject({
  vendorId: z.uuid('must be a UUID').optional(),
  stage: z.enum(LIFECYCLE_STAGES).optional(),
  health: z.enum(HEALTHS).optional(),
  q: z.string().max(100, 'must be at most 100 characters').optional(),
  sort: z.enum(PORTFOLIO_SORTS).default('name'),
  order: z.enum(['asc', 'desc']).default('asc'),
  limit: z.coerce.number().int('must be a whole number').min(1).max(500, 'must be at most 500').default(50),
  offset: z.coerce.number().int('must be a whole number').min(0, 'must not be negative').default(0),
});
type PortfolioQuery = z.infer<typeof portfolioQuery>;

export interface PortfolioRow {
  id: string;
  name: string;
  clientOrganisation: string;
  vendor: { id: string; legalName: string; deliveryModel: string };
  stage: LifecycleStage;
  phase: string | null;
  phaseStatus: 'ACTIVE' | 'HELD' | null;
  volumePct: number | null;
  score: number | null;
  trend: 'up' | 'down' | 'flat' | null;
  creditsThisQuarter: string;
  currency: string;
  openEscalations: Record<Severity, number>;
  nextMilestone: Milestone | null;
  health: Health;
  workflowUrl: string;
}

interface FactsRow {
  id: string;
  name: string;
  clientOrganisation: string;
  vendorId: string;
  legalName: string;
  deliveryModel: string;
  stage: LifecycleStage;
  /** Dates and times as ISO strings in UTC. */
  termEnd: string;
  renewalNoticeDays: number;
  timeZone: string;
  reviewCadences: ReviewCadence[];
  reviewGraceSeconds: number;
  currency: string;
  volumePct: number | null;
  /** A transition plan was stored: the vendor handles only the volume the transition moved to it. */
  planned: boolean;
  phaseName: string | null;
  phaseStatus: 'ACTIVE' | 'HELD' | null;
  phaseGated: boolean | null;
  phaseStartedAt: string | null;
  phaseMinSeconds: number | null;
  lastGateAt: string | null;
  holdSeconds: number | null;
  latestScore: number | null;
  previousScore: number | null;
  /** Decimal as text: money stays exact. */
  credits: string;
  /** When the engagement last reached steady state (its governance began), if recorded. */
  steadySince: string | null;
  p1: number;
  p2: number;
  p3: number;
  p4: number;
  exitKind: string | null;
  exitDueOn: string | null;
  exitDueAt: string | null;
}

/**
 * Every visible engagement's facts in one round trip: latest volume, the phase in progress, the last two monthly
 * scores, this quarter's credits, open escalations by severity, the earliest open exit step. Set-based (one pass
 * over each table, hash-joined), so it stays fast with thousands of engagements.
 */
export async function portfolioFacts(prisma: PrismaClient, vendorId: string | undefined, quarterStart: Date) {
  // One JSON value on the pg pool under Prisma (`poolOf`): a thousand rows parsed column by column, by Prisma's client
  // or by pg, held the API's only thread for tens of milliseconds at a time; JSON.parse takes a few. Dates and times
  // are formatted by the statement, as stored (UTC), whatever the session's or the process's time zone.
  const { rows } = await poolOf(prisma).query<{ facts: FactsRow[] }>({
    name: 'portfolio-facts',
    text: PORTFOLIO_FACTS,
    values: [quarterStart.toISOString().slice(0, 10), vendorId ?? null],
  });
  return rows[0].facts;
}

/** `date` and `timestamp` (UTC by convention) columns as ISO strings, for `to_char`. */
const DATE_ISO = `'YYYY-MM-DD"T00:00:00.000Z"'`;
const TIME_ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** `portfolioFacts`' statement: $1 the quarter's first day, $2 the vendor whose engagements it reads (null: all). */
export const PORTFOLIO_FACTS = `
  SELECT COALESCE(json_agg(f), '[]') AS facts FROM (
    WITH vol AS (
      SELECT DISTINCT ON ("engagementId") "engagementId", "toPct"
      FROM "VolumeChange" ORDER BY "engagementId", "occurredAt" DESC
    ), ph AS (
      SELECT DISTINCT ON (tp."engagementId") tp."engagementId", p.id AS "phaseId", p.name, p.status, p.gated,
             p."startedAt", p."minDurationSeconds", tp."holdSeconds"
      FROM "TransitionPlan" tp JOIN "TransitionPhase" p ON p."planId" = tp.id
      WHERE p.status IN ('ACTIVE', 'HELD') ORDER BY tp."engagementId", p.sequence
    ), gate AS (
      SELECT g."phaseId", max(g."evaluatedAt") AS at FROM "GateEvaluation" g JOIN ph USING ("phaseId") GROUP BY 1
    ), sc AS (
      SELECT "engagementId", (array_agg("overallScore"::float8 ORDER BY "periodStart" DESC))[1:2] AS scores,
             sum("creditsTotal") FILTER (WHERE "periodStart" >= $1::date) AS credits
      FROM "Review" WHERE cadence = 'MONTHLY' GROUP BY 1
    ), es AS (
      SELECT "engagementId", count(*) FILTER (WHERE severity = 'P1') AS p1, count(*) FILTER (WHERE severity = 'P2') AS p2,
             count(*) FILTER (WHERE severity = 'P3') AS p3, count(*) FILTER (WHERE severity = 'P4') AS p4
      FROM "Escalation" WHERE status <> 'RESOLVED' GROUP BY 1
    ), ex AS (
      SELECT DISTINCT ON (xp."engagementId") xp."engagementId", s.kind, s."dueOn", s."dueAt"
      FROM "ExitPlan" xp JOIN "ExitStep" s ON s."planId" = xp.id
      WHERE s."completedAt" IS NULL ORDER BY xp."engagementId", s."dueOn"
    )
    SELECT e.id, e.name, e."clientOrganisation", e."vendorId", v."legalName", v."deliveryModel"::text,
           e.stage::text AS stage, to_char(e."termEnd", ${DATE_ISO}) AS "termEnd", e."renewalNoticeDays",
           e."timeZone",
           e."reviewCadences"::text[] AS "reviewCadences", e."reviewGraceSeconds", e.currency,
           vol."toPct" AS "volumePct",
           EXISTS (SELECT FROM "TransitionPlan" tp WHERE tp."engagementId" = e.id) AS "planned",
           ph.name AS "phaseName", ph.status::text AS "phaseStatus", ph.gated AS "phaseGated",
           to_char(ph."startedAt", ${TIME_ISO}) AS "phaseStartedAt", ph."minDurationSeconds" AS "phaseMinSeconds",
           to_char(gate.at, ${TIME_ISO}) AS "lastGateAt", ph."holdSeconds",
           sc.scores[1] AS "latestScore", sc.scores[2] AS "previousScore", COALESCE(sc.credits, 0)::text AS credits,
           COALESCE(es.p1, 0)::int AS p1, COALESCE(es.p2, 0)::int AS p2,
           COALESCE(es.p3, 0)::int AS p3, COALESCE(es.p4, 0)::int AS p4,
           ex.kind::text AS "exitKind", to_char(ex."dueOn", ${DATE_ISO}) AS "exitDueOn",
           to_char(ex."dueAt", ${TIME_ISO}) AS "exitDueAt",
           -- (the first move: governance goes on through a renewal, whose new term records another)
           (SELECT to_char(min(c."occurredAt"), ${TIME_ISO}) FROM "StageChange" c
             WHERE c."engagementId" = e.id AND c."toStage" = 'STEADY_STATE') AS "steadySince"
    FROM "Engagement" e
    JOIN "Vendor" v ON v.id = e."vendorId"
    LEFT JOIN vol ON vol."engagementId" = e.id
    LEFT JOIN ph ON ph."engagementId" = e.id
    LEFT JOIN gate ON gate."phaseId" = ph."phaseId"
    LEFT JOIN sc ON sc."engagementId" = e.id
    LEFT JOIN es ON es."engagementId" = e.id
    LEFT JOIN ex ON ex."engagementId" = e.id
    WHERE $2::uuid IS NULL OR e."vendorId" = $2::uuid
  ) f`;

export function toRow(f: FactsRow, config: Config, nowMs: number, periods: PeriodNow): PortfolioRow {
  return rowAt(f, config, nowMs, periods).row;
}

/** A row at `nowMs`, and until when its next milestone, the only part of it that moves with time, holds. */
function rowAt(f: FactsRow, config: Config, nowMs: number, periods: PeriodNow): { row: PortfolioRow; until: number } {
  const latestScore = f.latestScore;
  const facts: EngagementFacts = {
    stage: f.stage,
    termEnd: f.termEnd,
    renewalNoticeDays: f.renewalNoticeDays,
    timeZone: f.timeZone,
    reviewCadences: f.reviewCadences,
    reviewGraceSeconds: f.reviewGraceSeconds,
    steadySince: f.steadySince,
    latestScore,
    openEscalations: { P1: f.p1, P2: f.p2, P3: f.p3, P4: f.p4 },
    phase: f.phaseName
      ? {
          name: f.phaseName,
          status: f.phaseStatus!,
          gated: f.phaseGated!,
          startedAt: f.phaseStartedAt,
          minDurationSeconds: f.phaseMinSeconds!,
          lastGateAt: f.lastGateAt,
          holdSeconds: f.holdSeconds!,
        }
      : null,
    nextExitStep: f.exitKind ? { kind: f.exitKind, dueOn: f.exitDueOn!, dueAt: f.exitDueAt } : null,
  };
  const next = nextMilestoneUntil(facts, nowMs, periods);
  const row: PortfolioRow = {
    id: f.id,
    name: f.name,
    clientOrganisation: f.clientOrganisation,
    vendor: { id: f.vendorId, legalName: f.legalName, deliveryModel: f.deliveryModel },
    stage: f.stage,
    phase: f.phaseName,
    phaseStatus: f.phaseStatus,
    // Before the transition moves volume the vendor handles none (also once a termination cancelled it); a steady
    // state reached without one handles all; a closed engagement none, whatever its transition last moved.
    volumePct:
      (f.stage === 'CLOSED' ? 0 : null) ??
      f.volumePct ??
      (f.planned ? 0 : null) ??
      (['STEADY_STATE', 'RENEWAL', 'EXIT'].includes(f.stage)
        ? 100
        : ['TRANSITION', 'CLOSED'].includes(f.stage)
          ? 0
          : null),
    score: latestScore,
    trend: trendOf(latestScore, f.previousScore),
    creditsThisQuarter: new Prisma.Decimal(f.credits).toFixed(2),
    currency: f.currency,
    openEscalations: facts.openEscalations,
    nextMilestone: next.milestone,
    health: healthOf(facts),
    workflowUrl: workflowUrl(config, lifecycleWorkflowId(f.id)),
  };
  return { row, until: next.until };
}

const STAGE_ORDER = Object.fromEntries(LIFECYCLE_STAGES.map((s, i) => [s, i]));
const HEALTH_ORDER = Object.fromEntries(HEALTHS.map((h, i) => [h, i]));
const SORT_KEY: Record<(typeof PORTFOLIO_SORTS)[number], (r: PortfolioRow) => string | number | null> = {
  name: (r) => r.name.toLowerCase(),
  vendor: (r) => r.vendor.legalName.toLowerCase(),
  deliveryModel: (r) => r.vendor.deliveryModel,
  stage: (r) => STAGE_ORDER[r.stage],
  phase: (r) => r.phase,
  volumePct: (r) => r.volumePct,
  score: (r) => r.score,
  credits: (r) => Number(r.creditsThisQuarter),
  escalations: (r) =>
    r.openEscalations.P1 * 1e9 + r.openEscalations.P2 * 1e6 + r.openEscalations.P3 * 1e3 + r.openEscalations.P4,
  // Instants, some with their zone's offset: compared as times, not as text.
  nextMilestone: (r) => (r.nextMilestone ? Date.parse(r.nextMilestone.at) : null),
  health: (r) => HEALTH_ORDER[r.health],
};

/** Sorts by one column; rows without a value go last whichever the order, ties by name then id. */
export function sortRows(rows: PortfolioRow[], sort: (typeof PORTFOLIO_SORTS)[number], order: 'asc' | 'desc') {
  const key = SORT_KEY[sort];
  const sign = order === 'asc' ? 1 : -1;
  return rows
    .map((row) => ({ row, k: key(row) }))
    .sort((a, b) => {
      if (a.k !== b.k) {
        if (a.k === null) return 1;
        if (b.k === null) return -1;
        return (a.k < b.k ? -1 : 1) * sign;
      }
      return a.row.name.localeCompare(b.row.name) || a.row.id.localeCompare(b.row.id);
    })
    .map((x) => x.row);
}

function quarterStartUtc(nowMs: number): Date {
  const now = new Date(nowMs);
  return new Date(Date.UTC(now.getUTCFullYear(), Math.floor(now.getUTCMonth() / 3) * 3, 1));
}

/** Every visible engagement's portfolio row at `nowMs`: what one snapshot of the route computes. */
export async function portfolioRows(
  prisma: PrismaClient,
  config: Config,
  vendorId: string | undefined,
  nowMs: number,
): Promise<PortfolioRow[]> {
  return (await rowsOf(await portfolioFacts(prisma, vendorId, quarterStartUtc(nowMs)), config, nowMs)).rows;
}

/**
 * Facts to rows at `nowMs`, and until when (epoch ms, exclusive) the same facts give the same rows: rows move with
 * time only through their next milestones (a review period ending, a renewal instant passing).
 */
async function rowsOf(
  facts: FactsRow[],
  config: Config,
  nowMs: number,
): Promise<{ rows: PortfolioRow[]; rowsUntil: number }> {
  const periods = periodsAt(nowMs);
  // Mapping a thousand rows takes about 10 ms of the API's only thread: it yields every hundred rows, so the
  // requests that arrive meanwhile (cached pages, a fraction of a millisecond each) are not kept waiting.
  const rows: PortfolioRow[] = [];
  let rowsUntil = Infinity;
  for (const [i, f] of facts.entries()) {
    if (i > 0 && i % ROWS_PER_SLICE === 0) await setImmediate();
    const { row, until } = rowAt(f, config, nowMs, periods);
    rows.push(row);
    rowsUntil = Math.min(rowsUntil, until);
  }
  return { rows, rowsUntil };
}

interface PortfolioSnapshot {
  facts: FactsRow[];
  /** The facts are reused until then, or until a change is heard (`factsEpoch` moved); 0 when nothing is heard. */
  factsUntil: number;
  factsEpoch: number;
  quarterStart: number;
  rows: PortfolioRow[];
  /** The rows (and their pages) hold for these facts until then (epoch ms): a next milestone moves. */
  rowsUntil: number;
  /** Pages asked of these rows, by query, serialised once (with their ETags). */
  pages: Map<string, { json: string; etag: string }>;
}
const PAGES_PER_SNAPSHOT = 20;
const ROWS_PER_SLICE = 100;

/**
 * One computed portfolio per scope serves further requests through the read cache: every open dashboard polls it,
 * so under load the rows are computed about once per period and scope (concurrent requests share one computation),
 * and each page asked of those rows is computed once. Any write through this API computes it afresh; what workflows
 * change shows within twice the period. While `changes` hears every change to what the portfolio reads (triggers on
 * its tables), a refresh reuses the facts it read until one is heard (at most `FACTS_KEPT_MS`), and the rows and
 * pages computed from them until a next milestone moves (a review period ends, a renewal instant passes): a quiet
 * portfolio costs the database nothing and the API next to nothing.
 */
export function portfolioRoutes(
  api: ApiRoutes,
  deps: { prisma: PrismaClient; config: Config; changes?: EngagementChanges },
): void {
  const { prisma, config, changes } = deps;
  let factsEpoch = 0;
  const snapshots = readCache<PortfolioSnapshot>({
    freshMs: config.readCacheMs,
    max: 200,
    load: async (scope, replacing) => {
      const nowMs = Date.now();
      const now = performance.now();
      // Read before the facts: a change heard while they are read moves the epoch past this one.
      const epoch = factsEpoch;
      const heard = changes?.listening ?? false;
      const quarterStart = quarterStartUtc(nowMs);
      const keep =
        replacing !== undefined &&
        heard &&
        replacing.factsEpoch === epoch &&
        replacing.quarterStart === quarterStart.getTime() &&
        now < replacing.factsUntil;
      const facts = keep
        ? replacing.facts
        : await portfolioFacts(prisma, scope === '*' ? undefined : scope, quarterStart);
      // The same facts give the same rows, and so the same pages, until a next milestone moves.
      const sameRows = keep && nowMs < replacing.rowsUntil;
      const { rows, rowsUntil } = sameRows ? replacing : await rowsOf(facts, config, nowMs);
      return {
        facts,
        factsUntil: keep ? replacing.factsUntil : heard ? now + FACTS_KEPT_MS : 0,
        factsEpoch: epoch,
        quarterStart: quarterStart.getTime(),
        rows,
        rowsUntil,
        pages: sameRows ? replacing.pages : new Map(),
      };
    },
  });
  const changed = () => factsEpoch++;
  changes?.subscribe({ change: changed, portfolioChange: changed, gap: changed });
  api.afterWrite(({ path }) => {
    if (!path.startsWith('/api-keys')) snapshots.clear();
  });
  api.route(
    {
      method: 'get',
      path: '/portfolio',
      summary:
        'The portfolio: every visible engagement with stage, phase, volume, score, credits, escalations, next milestone and health',
      tag: 'dashboard',
      roles: [],
      query: portfolioQuery,
      responses: { 200: 'A page of portfolio rows, with counts by stage and health over the filtered set' },
    },
    async ({ query, principal }) => {
      const scopedVendor = engagementScope(principal).vendorId ?? query.vendorId;
      if (query.vendorId && !seesVendor(principal, query.vendorId))
        return { status: 200, body: { items: [], total: 0, limit: query.limit, offset: query.offset, counts: {} } };
      const snapshot = (await snapshots.get(scopedVendor ?? '*'))!;
      const pageKey = JSON.stringify(query);
      let page = snapshot.pages.get(pageKey);
      if (!page) {
        page = serialised(pageOf(snapshot.rows, query));
        if (snapshot.pages.size < PAGES_PER_SNAPSHOT) snapshot.pages.set(pageKey, page);
      }
      return { status: 200, ...page };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/me',
      summary: 'Who this API key is: name, role and, for a vendor key, its vendor',
      tag: 'dashboard',
      roles: [],
      responses: { 200: 'The key holder' },
    },
    async ({ principal }) => {
      const vendor = principal.vendorId
        ? await prisma.vendor.findUnique({ where: { id: principal.vendorId }, select: { id: true, legalName: true } })
        : null;
      return {
        status: 200,
        body: {
          name: principal.name,
          role: principal.role,
          vendor,
          temporalUiUrl: config.temporal.uiUrl,
          namespace: config.temporal.namespace,
        },
      };
    },
  );
}

function pageOf(all: PortfolioRow[], query: PortfolioQuery) {
  const needle = query.q?.toLowerCase();
  const filtered = all.filter(
    (r) =>
      (!query.stage || r.stage === query.stage) &&
      (!query.health || r.health === query.health) &&
      (!needle ||
        r.name.toLowerCase().includes(needle) ||
        r.clientOrganisation.toLowerCase().includes(needle) ||
        r.vendor.legalName.toLowerCase().includes(needle)),
  );
  return {
    items: sortRows(filtered, query.sort, query.order).slice(query.offset, query.offset + query.limit),
    total: filtered.length,
    limit: query.limit,
    offset: query.offset,
    counts: { byStage: countBy(filtered, (r) => r.stage), byHealth: countBy(filtered, (r) => r.health) },
  };
}

function countBy<T>(rows: T[], key: (row: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) counts[key(row)] = (counts[key(row)] ?? 0) + 1;
  return counts;
}
