import { DateTime } from 'luxon';
import { newId } from '../ids';
import { isDeepStrictEqual } from 'node:util';
import type DataLoader from 'dataloader';
import type { Pool } from 'pg';
import type { Client } from '@temporalio/client';
import { auditOnceRows, insertAuditOnce, recordOnce, type AuditBatches, type AuditOnce } from '../audit';
import type { Config } from '../config';
import type { PrismaClient } from '../db';
import type { LifecycleStage, RenewalDecision } from '../generated/prisma/enums';
import { noticeDeadlineMs } from '../domain/renewal';
import { minimumSeconds, type PhasePlan, type TransitionPlanData } from '../domain/transition';
import { engagementScope, type Principal } from './auth';
import { conflict, notFound } from './problem';
import { statementBatches } from '../statement-batches';

/** An engagement as a start reads it, with its SLA count and its transition plan (stored before, or by this start). */
export interface StartableEngagement {
  id: string;
  vendorId: string;
  stage: LifecycleStage;
  termStart: Date;
  termEnd: Date;
  renewalNoticeDays: number;
  timeZone: string;
  reviewGraceSeconds: number;
  autoRenew: boolean;
  defaultRenewalDecision: RenewalDecision;
  slaCount: number;
  transitionPlan: TransitionPlanData | null;
  /** Where the stored plan's phases stand (in their order), once a transition has run some of them. */
  phaseProgress: PhaseProgress[] | null;
  /** An exit plan is stored (a lifecycle started again takes it up). */
  hasExitPlan: boolean;
}

/** When a stored phase started and completed, in epoch milliseconds. */
export interface PhaseProgress {
  startedAtMs: number | null;
  completedAtMs: number | null;
}

/** The stages whose start stores a transition plan: the transition has not finished. */
export const PLANNED_STAGES: readonly LifecycleStage[] = ['CONTRACTED', 'TRANSITION'];

/** What one start asks of the database: its engagement as the principal may see it, and the plan to store. */
export interface StartRequest {
  engagementId: string;
  /** Set for a vendor key: only this vendor's engagement is found. */
  vendorId: string | null;
  plan: TransitionPlanData;
  actor: string;
  /** The plan must be able to end before the renewal notice deadline (a lifecycle start); else it is not stored. */
  beforeNoticeDeadline?: boolean;
}

/** The start path's statement for a start, one for all the starts of a moment (group commit). */
export type StartStatements = Pick<DataLoader<StartRequest, StartableEngagement | null>, 'load'>;

/** What the routes that start workflows share: the start's statement, and where a start is put on record. */
export interface StartPath {
  prisma: PrismaClient;
  temporal: Client;
  config: Config;
  starts: StartStatements;
  /** Where a workflow started is put on record, in the start path's statement of its moment. */
  startAudits: AuditBatches;
}

/**
 * The engagement a start needs (a start is the API's busiest write): visible to the principal, not exited, with SLAs
 * for its gates to judge, and, in a stage before the transition is done, its transition plan: the one stored before,
 * or `plan` stored now with its phases and its audit row. One statement with the other starts of the same moment.
 */
export async function prepareStart(
  statements: StartStatements,
  principal: Principal,
  id: string,
  plan: TransitionPlanData,
  actor: string,
  /** The request asked for this plan (a body with fields), rather than taking the default or the stored one. */
  planAsked = false,
  beforeNoticeDeadline = false,
  exitingAllowed = false,
): Promise<StartableEngagement> {
  const vendorId = engagementScope(principal).vendorId ?? null;
  const engagement = await statements.load({ engagementId: id, vendorId, plan, actor, beforeNoticeDeadline });
  // A vendor key never learns that another vendor's engagement exists.
  if (!engagement) throw notFound(`engagement ${id}`);
  if (engagement.stage === 'CLOSED' || (engagement.stage === 'EXIT' && !exitingAllowed))
    throw conflict(`engagement is in stage ${engagement.stage}: it has exited`);
  if (engagement.slaCount === 0) {
    throw conflict('engagement has no SLAs: transition gates would have nothing to judge');
  }
  // An earlier start stored a plan: a repeat runs that one, so a request for another plan is told, not ignored.
  if (
    planAsked &&
    PLANNED_STAGES.includes(engagement.stage) &&
    engagement.transitionPlan &&
    !samePlan(plan, engagement.transitionPlan)
  ) {
    throw conflict(
      'this engagement already has a transition plan, stored by an earlier start, and a repeated start runs that ' +
        `one: see it at GET /engagements/${id}/transition and change the phases still to run with PUT ` +
        `/engagements/${id}/transition/plan`,
    );
  }
  if (beforeNoticeDeadline && PLANNED_STAGES.includes(engagement.stage)) {
    // The renewal is evaluated after the transition: a plan that cannot end before the notice deadline would leave
    // the contract's default to apply with no one deciding. Checked in the statement too, which then stores nothing.
    // Both count as the workflow does: the transition from the term's start (UTC midnight) or now, the deadline at
    // midnight in the engagement's time zone. A transition already running (started on its own) counts from where
    // its phases stand.
    refusePastNoticeDeadline(
      engagement,
      engagement.transitionPlan ?? plan,
      'the transition plan',
      'Shorten the plan or the notice period',
    );
  }
  return engagement;
}

/** The phases of a plan as far as their timing goes. */
type PlanDurations = { phases: Array<Pick<PhasePlan, 'minDurationSeconds'>> };

/**
 * Refuses (409) a transition on `plan` that could not end before the engagement's renewal notice deadline (see
 * `earliestPlanEnd`), naming both dates as the engagement's days: the renewal is evaluated after the transition, and
 * would be left to the contract's default with no one deciding.
 */
export function refusePastNoticeDeadline(
  e: Pick<StartableEngagement, 'termStart' | 'termEnd' | 'renewalNoticeDays' | 'timeZone' | 'phaseProgress'>,
  plan: PlanDurations,
  subject: string,
  advice: string,
): void {
  const end = earliestPlanEnd(e, plan, Date.now());
  const deadline = noticeDeadlineMs(e.termEnd, e.renewalNoticeDays, e.timeZone);
  if (end <= deadline) return;
  const localDate = (ms: number) => DateTime.fromMillis(ms, { zone: e.timeZone }).toISODate()!;
  throw conflict(
    `${subject} runs until ${localDate(end)} at the earliest, past the renewal notice deadline ` +
      `${localDate(deadline)}: the renewal could not be decided in time. ${advice}`,
  );
}

/**
 * The earliest a transition on `plan` can end: its phases' minimum durations from the term's start or now, whichever
 * is later. Once a transition runs (it may have begun before the term), from now: the phases it completed count no
 * more, and the running one counts from its start.
 */
export function earliestPlanEnd(
  e: Pick<StartableEngagement, 'termStart' | 'phaseProgress'>,
  plan: PlanDurations,
  now: number,
): number {
  const progress = e.phaseProgress ?? [];
  if (!progress.some((p) => p.startedAtMs !== null))
    return Math.max(e.termStart.getTime(), now) + minimumSeconds(plan) * 1000;
  let end = now;
  plan.phases.forEach((phase, i) => {
    const { startedAtMs = null, completedAtMs = null } = progress[i] ?? {};
    if (completedAtMs !== null) return;
    end =
      startedAtMs !== null
        ? Math.max(end, startedAtMs + phase.minDurationSeconds * 1000)
        : end + phase.minDurationSeconds * 1000;
  });
  return end;
}

function samePlan(a: TransitionPlanData, b: TransitionPlanData): boolean {
  const shape = (p: TransitionPlanData) => ({
    // Stored as numeric(5,2): 82.345 is kept as 82.35 (PostgreSQL rounds half away from zero).
    gateThreshold: Math.round(Number(p.gateThreshold) * 100 + Number.EPSILON) / 100,
    holdSeconds: p.holdSeconds,
    maxConsecutiveFailures: p.maxConsecutiveFailures,
    rollbackOnEscalation: p.rollbackOnEscalation,
    phases: p.phases.map(({ kind, name, volumePct, minDurationSeconds, gated }) => ({
      kind,
      name,
      volumePct,
      minDurationSeconds,
      gated,
    })),
  });
  return isDeepStrictEqual(shape(a), shape(b));
}

/** An item of the start path's statements: a start, or a workflow started to put on record. */
type StartItem = { start: StartRequest } | { started: AuditOnce };

/**
 * The start path's statements on the pg pool under Prisma (`poolOf`), one at a time, each for all the items of its
 * moment (group commit): the starts (`starts`, see `runStarts`) and the workflows they started, put on record once
 * per key (`startAudits`). A start records its workflow after starting it, so the two would otherwise take a
 * statement each; together, the records of one moment go in the statement of the next starts.
 */
export function startStatements(pool: Pool): { starts: StartStatements; startAudits: AuditBatches } {
  const batches = statementBatches<StartItem, StartableEngagement | null | true>(async (items) => {
    const requests = items.flatMap((item) => ('start' in item ? [item.start] : []));
    const started = items.flatMap((item) => ('started' in item ? [item.started] : []));
    if (!requests.length) {
      await recordOnce(pool, started);
      return items.map(() => true as const);
    }
    const answers = await runStarts(pool, requests, started);
    let next = 0;
    return items.map((item) => ('start' in item ? answers[next++] : true));
  });
  return {
    starts: { load: (start) => batches.load({ start }) as Promise<StartableEngagement | null> },
    startAudits: { load: (started) => batches.load({ started }) as Promise<true> },
  };
}

/**
 * The start path's statement for starts: it reads the engagements of many starts and stores a plan for each that
 * needs one (visible, in a planned stage, with SLAs, without a plan), each with its phases and audit row, and puts
 * `started` on record, in one implicit transaction; named so that each connection parses and plans it once. Plans
 * are inserted in engagement order, so that two API processes' statements never wait on each other in a circle.
 * Several starts of one engagement in a statement store the first one's plan and all answer it; a plan stored
 * meanwhile by another statement is read in a second one.
 */
async function runStarts(
  pool: Pool,
  requests: readonly StartRequest[],
  started: readonly AuditOnce[],
): Promise<Array<StartableEngagement | null>> {
  const rows = requests.map((r, n) => ({
    n,
    engagementId: r.engagementId,
    vendorId: r.vendorId,
    planId: newId(),
    auditId: newId(),
    actor: r.actor,
    plan: r.plan,
    phases: r.plan.phases.map((p, i) => ({ id: newId(), sequence: i + 1, ...p })),
    beforeNoticeDeadline: r.beforeNoticeDeadline ?? false,
    planSeconds: minimumSeconds(r.plan),
  }));
  const { rows: found } = await pool.query<StartableEngagement & { n: number; storedThreshold: number | null }>({
    name: 'start',
    text: `
        WITH input AS (
          SELECT * FROM jsonb_to_recordset($1::jsonb) AS i("n" int, "engagementId" uuid, "vendorId" uuid,
                 "planId" uuid, "auditId" uuid, "actor" text, "plan" jsonb, "phases" jsonb,
                 "beforeNoticeDeadline" boolean, "planSeconds" int)
        ), engagement AS (
          -- Each start's engagement by its key (LIMIT 1 keeps the lookup per start: joined, the plan prepared once
          -- expects a hundred starts and reads the whole table instead).
          SELECT i."n", e.* FROM input i CROSS JOIN LATERAL (
            SELECT e."id", e."vendorId", e."stage", e."termStart", e."termEnd", e."renewalNoticeDays", e."timeZone",
                   e."reviewGraceSeconds", e."autoRenew", e."defaultRenewalDecision",
                   (SELECT count(*)::int FROM "Sla" s WHERE s."engagementId" = e."id") AS "slaCount",
                   (SELECT ${STORED_PLAN} FROM "TransitionPlan" p WHERE p."engagementId" = e."id") AS "transitionPlan",
                   (SELECT json_agg(json_build_object(
                             'startedAtMs', (extract(epoch FROM ph."startedAt") * 1000)::float8,
                             'completedAtMs', (extract(epoch FROM ph."completedAt") * 1000)::float8)
                           ORDER BY ph."sequence")
                    FROM "TransitionPlan" p JOIN "TransitionPhase" ph ON ph."planId" = p."id"
                    WHERE p."engagementId" = e."id") AS "phaseProgress",
                   EXISTS (SELECT 1 FROM "ExitPlan" x WHERE x."engagementId" = e."id") AS "hasExitPlan"
            FROM "Engagement" e
            WHERE e."id" = i."engagementId" AND (i."vendorId" IS NULL OR e."vendorId" = i."vendorId")
            LIMIT 1
          ) e
        ), plan AS (
          INSERT INTO "TransitionPlan" ("id", "engagementId", "gateThreshold", "holdSeconds", "maxConsecutiveFailures",
                                        "rollbackOnEscalation", "createdAt")
          SELECT * FROM (
            SELECT DISTINCT ON (i."engagementId") i."planId", i."engagementId", (i."plan"->>'gateThreshold')::numeric,
                   (i."plan"->>'holdSeconds')::int, (i."plan"->>'maxConsecutiveFailures')::int,
                   (i."plan"->>'rollbackOnEscalation')::boolean, $2::timestamptz AT TIME ZONE 'UTC'
            FROM input i JOIN engagement g ON g."n" = i."n"
            WHERE g."transitionPlan" IS NULL AND g."slaCount" > 0 AND g."stage"::text = ANY($3::text[])
              AND (NOT i."beforeNoticeDeadline"
                   OR GREATEST(g."termStart"::timestamp AT TIME ZONE 'UTC', $2::timestamptz)
                        + make_interval(secs => i."planSeconds")
                      <= (g."termEnd" - make_interval(days => g."renewalNoticeDays")) AT TIME ZONE g."timeZone")
            ORDER BY i."engagementId", i."n"
          ) first
          ON CONFLICT ("engagementId") DO NOTHING
          RETURNING "id", "engagementId", "gateThreshold"
        ), phases AS (
          INSERT INTO "TransitionPhase" ("id", "planId", "sequence", "kind", "name", "volumePct", "minDurationSeconds",
                                         "gated")
          SELECT ph."id", plan."id", ph."sequence", ph."kind"::"PhaseKind", ph."name", ph."volumePct",
                 ph."minDurationSeconds", ph."gated"
          FROM plan JOIN input i ON i."planId" = plan."id",
               jsonb_to_recordset(i."phases") AS ph("id" uuid, "sequence" int, "kind" text, "name" text,
                                                    "volumePct" int, "minDurationSeconds" int, "gated" boolean)
        ), audit AS (
          INSERT INTO "AuditLog" ("id", "actor", "action", "entityType", "entityId", "after", "at")
          SELECT i."auditId", i."actor", 'transition.plan', 'TransitionPlan', plan."id"::text, i."plan",
                 $2::timestamptz AT TIME ZONE 'UTC'
          FROM plan JOIN input i ON i."planId" = plan."id"
        ), started AS (${insertAuditOnce('$4', '$2')}
        )
        SELECT g."n", g."id", g."vendorId", g."stage"::text AS "stage",
               g."termStart"::timestamp AT TIME ZONE 'UTC' AS "termStart",
               g."termEnd"::timestamp AT TIME ZONE 'UTC' AS "termEnd", g."renewalNoticeDays", g."timeZone", g."autoRenew",
               g."reviewGraceSeconds", g."defaultRenewalDecision"::text AS "defaultRenewalDecision", g."slaCount", g."phaseProgress",
               g."hasExitPlan",
               COALESCE(g."transitionPlan", (SELECT i."plan" FROM plan JOIN input i ON i."planId" = plan."id"
                                             WHERE plan."engagementId" = g."id")::json) AS "transitionPlan",
               (SELECT plan."gateThreshold"::float8 FROM plan WHERE plan."engagementId" = g."id") AS "storedThreshold"
        FROM engagement g`,
    values: [JSON.stringify(rows), new Date().toISOString(), PLANNED_STAGES, auditOnceRows(started)],
  });
  const answers: Array<StartableEngagement | null> = requests.map(() => null);
  for (const { n, storedThreshold, ...engagement } of found) {
    // As stored: the threshold rounded to its column.
    if (storedThreshold !== null) engagement.transitionPlan!.gateThreshold = storedThreshold;
    answers[n] = engagement;
  }
  // A plan another statement stored between this one's read and its insert: read now that it has committed.
  const unplanned = answers.filter(
    (e): e is StartableEngagement =>
      e !== null && e.transitionPlan === null && e.slaCount > 0 && PLANNED_STAGES.includes(e.stage),
  );
  if (unplanned.length) {
    const { rows: stored } = await pool.query<{ engagementId: string; plan: TransitionPlanData }>({
      name: 'start-stored-plans',
      text: `SELECT p."engagementId"::text AS "engagementId", ${STORED_PLAN} AS "plan"
               FROM "TransitionPlan" p WHERE p."engagementId" = ANY($1::uuid[])`,
      values: [unplanned.map((e) => e.id)],
    });
    const plans = new Map(stored.map((row) => [row.engagementId, row.plan]));
    for (const e of unplanned) e.transitionPlan = plans.get(e.id) ?? null;
  }
  return answers;
}

/** A stored plan (`p`) as a start passes it on: its rules and its phases in order, the threshold as stored. */
const STORED_PLAN = `json_build_object(
  'gateThreshold', p."gateThreshold"::float8, 'holdSeconds', p."holdSeconds",
  'maxConsecutiveFailures', p."maxConsecutiveFailures", 'rollbackOnEscalation', p."rollbackOnEscalation",
  'phases', (SELECT json_agg(json_build_object('kind', ph."kind", 'name', ph."name", 'volumePct', ph."volumePct",
                                               'minDurationSeconds', ph."minDurationSeconds", 'gated', ph."gated")
                             ORDER BY ph."sequence")
             FROM "TransitionPhase" ph WHERE ph."planId" = p."id"))`;
