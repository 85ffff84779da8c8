import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type DataLoader from 'dataloader';
import type { Pool } from 'pg';
import type { z } from 'zod';
import {
  approveGateUpdate,
  changePlanUpdate,
  overrideGateUpdate,
  pauseUpdate,
  resumeUpdate,
  transitionStateQuery,
  transitionWorkflowId,
} from '../../workflows/transition.messages';
import type { LifecycleStage, RenewalDecision } from '../generated/prisma/enums';
import type { Config } from '../config';
import type { PrismaClient } from '../db';
import { parseDuration } from '../domain/duration';
import { defaultTransitionPlan, planProblems, type PhasePlan, type TransitionPlanData } from '../domain/transition';
import { actorOf, seesVendor, type Principal } from './auth';
import { findVisibleEngagement, workflowUrl } from './engagements';
import { conflict, notFound, ProblemError } from './problem';
import type { ApiRoutes } from './route';
import { changePlanBody, idParams, noteBody, overrideGateBody, pauseBody, startTransitionBody } from './schemas';
import { statementBatches } from './statement-batches';
import { queryLive, startOnce } from './temporal-calls';
import { updateRoute } from './workflow-updates';

export function transitionRoutes(
  api: ApiRoutes,
  deps: { prisma: PrismaClient; temporal: Client; config: Config; starts: StartBatches },
): void {
  const { prisma, temporal, config, starts } = deps;

  api.route(
    {
      method: 'post',
      path: '/engagements/:id/transition',
      summary: 'Start the phased transition (a repeat returns the running one)',
      tag: 'transition',
      roles: ['PROGRAM_MANAGER'],
      params: idParams,
      body: startTransitionBody,
      responses: { 202: 'Started or already running', 404: 'No such engagement', 409: 'The engagement is not ready' },
    },
    async ({ params, body, principal }) => {
      const engagement = await findStartableEngagement(starts, principal, params.id);
      if (['STEADY_STATE', 'RENEWAL'].includes(engagement.stage)) throw conflict('the transition is already complete');
      const plan = await findOrCreatePlan(starts, engagement, planFromBody(body), actorOf(principal));
      const workflowId = transitionWorkflowId(params.id);
      try {
        return await startOnce(temporal, {
          type: 'transition',
          workflowId,
          taskQueue: config.temporal.taskQueue,
          uiLink: workflowUrl(config, workflowId),
          args: [{ engagementId: params.id, vendorId: engagement.vendorId, plan }],
          rejectIfClosed: true,
        });
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) throw conflict('the transition has already run');
        throw error;
      }
    },
  );

  api.route(
    {
      method: 'get',
      path: '/engagements/:id/transition',
      summary: 'Where the transition stands: phases, gate results with their numbers, volume changes, live state',
      tag: 'transition',
      roles: [],
      params: idParams,
      responses: { 200: 'The transition (null plan before it starts)', 404: 'No such engagement' },
    },
    async ({ params, principal }) => {
      await findVisibleEngagement(prisma, principal, params.id);
      const [plan, volumeChanges] = await Promise.all([
        prisma.transitionPlan.findUnique({
          where: { engagementId: params.id },
          include: {
            phases: { orderBy: { sequence: 'asc' }, include: { gateEvaluations: { orderBy: { attempt: 'asc' } } } },
          },
        }),
        prisma.volumeChange.findMany({ where: { engagementId: params.id }, orderBy: { occurredAt: 'asc' } }),
      ]);
      const { live, liveUnavailable } = plan
        ? await queryLive(temporal, transitionWorkflowId(params.id), transitionStateQuery)
        : { live: null, liveUnavailable: undefined };
      return {
        status: 200,
        body: {
          plan,
          volumeChanges,
          live,
          ...(liveUnavailable && { liveUnavailable }),
          workflowUrl: workflowUrl(config, transitionWorkflowId(params.id)),
        },
      };
    },
  );

  const steer = <B extends z.ZodType>(
    path: string,
    summary: string,
    body: B,
    send: (handle: WorkflowHandle, actor: string, body: z.infer<B>) => Promise<unknown>,
  ) =>
    updateRoute(
      api,
      temporal,
      {
        method: path === 'plan' ? 'put' : 'post',
        path: `/engagements/:id/transition/${path}`,
        summary,
        tag: 'transition',
        roles: ['PROGRAM_MANAGER'],
        params: idParams,
        body,
        workflowId: async ({ id }, principal) => {
          await findVisibleEngagement(prisma, principal, id);
          return transitionWorkflowId(id);
        },
        notRunning: 'no transition is running for this engagement',
      },
      (handle, actor, _params, parsed) => send(handle, actor, parsed),
    );

  steer('approve-gate', 'Approve the pending gate now', noteBody, (handle, actor, b) =>
    handle.executeUpdate(approveGateUpdate, { args: [{ actor, note: b.note }] }),
  );
  steer('override-gate', 'Override a failed (held) gate, with a reason', overrideGateBody, (handle, actor, b) =>
    handle.executeUpdate(overrideGateUpdate, { args: [{ actor, reason: b.reason }] }),
  );
  steer('pause', 'Pause the transition (paused time does not count)', pauseBody, (handle, actor, b) =>
    handle.executeUpdate(pauseUpdate, { args: [{ actor, reason: b.reason }] }),
  );
  steer('resume', 'Resume a paused transition', noteBody, (handle, actor) =>
    handle.executeUpdate(resumeUpdate, { args: [{ actor }] }),
  );
  steer('plan', 'Replace the phases after the current one', changePlanBody, (handle, actor, b) =>
    handle.executeUpdate(changePlanUpdate, { args: [{ actor, phases: b.phases.map(toPhasePlan) }] }),
  );
}

function toPhasePlan(p: z.infer<typeof changePlanBody>['phases'][number]): PhasePlan {
  return {
    kind: p.kind,
    name: p.name,
    volumePct: p.volumePct,
    minDurationSeconds: parseDuration(p.minDuration),
    gated: p.gated,
  };
}

/** An engagement as a start reads it, with its SLA count and stored transition plan. */
export interface StartableEngagement {
  id: string;
  vendorId: string;
  stage: LifecycleStage;
  termStart: Date;
  termEnd: Date;
  renewalNoticeDays: number;
  autoRenew: boolean;
  defaultRenewalDecision: RenewalDecision;
  slaCount: number;
  transitionPlan: TransitionPlanData | null;
}

/**
 * The engagement a start needs (a start is the API's busiest write): visible to the principal, not exited, with SLAs
 * for its gates to judge, and with its stored transition plan if it has one. Read with the other starts' of the same
 * moment, in one statement.
 */
export async function findStartableEngagement(
  starts: StartBatches,
  principal: Principal,
  id: string,
): Promise<StartableEngagement> {
  const engagement = await starts.engagements.load(id);
  // A vendor key never learns that another vendor's engagement exists.
  if (!engagement || !seesVendor(principal, engagement.vendorId)) throw notFound(`engagement ${id}`);
  if (['EXIT', 'CLOSED'].includes(engagement.stage))
    throw conflict(`engagement is in stage ${engagement.stage}: it has exited`);
  if (engagement.slaCount === 0) {
    throw conflict('engagement has no SLAs: transition gates would have nothing to judge');
  }
  return engagement;
}

/**
 * What a start reads and writes, each in one statement for all the starts of a moment (group commit), sent on the pg
 * pool under Prisma (`poolOf`) as named statements, which each connection parses and plans once.
 */
export interface StartBatches {
  engagements: DataLoader<string, StartableEngagement | null>;
  plans: DataLoader<PlanToStore, TransitionPlanData>;
}

/** A plan a start stores unless its engagement has one: by whom. */
export interface PlanToStore {
  engagementId: string;
  plan: TransitionPlanData;
  actor: string;
}

export function startBatches(pool: Pool): StartBatches {
  return {
    engagements: statementBatches(async (ids) => {
      const { rows } = await pool.query<StartableEngagement>({
        name: 'start-engagements',
        text: `SELECT e."id", e."vendorId", e."stage"::text AS "stage", e."termStart"::timestamp AT TIME ZONE 'UTC' AS "termStart",
                e."termEnd"::timestamp AT TIME ZONE 'UTC' AS "termEnd", e."renewalNoticeDays", e."autoRenew",
                e."defaultRenewalDecision"::text AS "defaultRenewalDecision",
                (SELECT count(*)::int FROM "Sla" s WHERE s."engagementId" = e."id") AS "slaCount",
                (SELECT ${STORED_PLAN} FROM "TransitionPlan" p WHERE p."engagementId" = e."id") AS "transitionPlan"
         FROM "Engagement" e
         WHERE e."id" = ANY($1::uuid[])`,
        values: [ids],
      });
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    plans: statementBatches((items) => storePlans(pool, items)),
  };
}

/** A stored plan (`p`) as a start passes it on: its rules and its phases in order, the threshold as stored. */
const STORED_PLAN = `json_build_object(
  'gateThreshold', p."gateThreshold"::float8, 'holdSeconds', p."holdSeconds",
  'maxConsecutiveFailures', p."maxConsecutiveFailures", 'rollbackOnEscalation', p."rollbackOnEscalation",
  'phases', (SELECT json_agg(json_build_object('kind', ph."kind", 'name', ph."name", 'volumePct', ph."volumePct",
                                               'minDurationSeconds', ph."minDurationSeconds", 'gated', ph."gated")
                             ORDER BY ph."sequence")
             FROM "TransitionPhase" ph WHERE ph."planId" = p."id"))`;

export function planFromBody(body: z.infer<typeof startTransitionBody>): TransitionPlanData {
  const base = defaultTransitionPlan(body.waves);
  const plan: TransitionPlanData = {
    phases: body.phases ? body.phases.map(toPhasePlan) : base.phases,
    gateThreshold: body.gateThreshold ?? base.gateThreshold,
    holdSeconds: body.hold ? parseDuration(body.hold) : base.holdSeconds,
    maxConsecutiveFailures: body.maxConsecutiveFailures ?? base.maxConsecutiveFailures,
    rollbackOnEscalation: body.rollbackOnEscalation ?? base.rollbackOnEscalation,
  };
  const problems = planProblems(plan.phases);
  if (problems.length) {
    throw new ProblemError(
      400,
      'Invalid request',
      `body.phases: ${problems.join('; ')}`,
      problems.map((reason) => ({ field: 'body.phases', reason })),
    );
  }
  return plan;
}

/**
 * The stored plan, or this one stored now (as stored: the threshold rounded to the column) with its phases and its
 * audit row; a start that stored first wins, and this one returns that plan.
 */
export async function findOrCreatePlan(
  starts: StartBatches,
  engagement: { id: string; transitionPlan: TransitionPlanData | null },
  plan: TransitionPlanData,
  actor: string,
): Promise<TransitionPlanData> {
  return engagement.transitionPlan ?? starts.plans.load({ engagementId: engagement.id, plan, actor });
}

/**
 * Stores the plans of many starts, each with its phases and audit row, in one statement (one implicit transaction,
 * no BEGIN/COMMIT round trips), in engagement order so that two API processes' batches never wait on each other in
 * a circle. Where an engagement already has a plan (stored by a start in the same batch or elsewhere) that plan is
 * the answer.
 */
async function storePlans(pool: Pool, items: readonly PlanToStore[]): Promise<TransitionPlanData[]> {
  const first = new Map<string, PlanToStore>();
  for (const item of items) if (!first.has(item.engagementId)) first.set(item.engagementId, item);
  const rows = [...first.values()]
    .sort((a, b) => (a.engagementId < b.engagementId ? -1 : 1))
    .map(({ engagementId, plan, actor }) => ({
      id: randomUUID(),
      auditId: randomUUID(),
      engagementId,
      actor,
      plan,
      gateThreshold: plan.gateThreshold,
      holdSeconds: plan.holdSeconds,
      maxConsecutiveFailures: plan.maxConsecutiveFailures,
      rollbackOnEscalation: plan.rollbackOnEscalation,
      phases: plan.phases.map((p, i) => ({ id: randomUUID(), sequence: i + 1, ...p })),
    }));
  const { rows: stored } = await pool.query<{ engagementId: string; gateThreshold: number }>({
    name: 'start-store-plans',
    text: `WITH input AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS i("id" uuid, "auditId" uuid, "engagementId" uuid, "actor" text,
              "plan" jsonb, "gateThreshold" numeric, "holdSeconds" int, "maxConsecutiveFailures" int,
              "rollbackOnEscalation" boolean, "phases" jsonb)
     ), plan AS (
       INSERT INTO "TransitionPlan" ("id", "engagementId", "gateThreshold", "holdSeconds", "maxConsecutiveFailures",
                                     "rollbackOnEscalation", "createdAt")
       SELECT "id", "engagementId", "gateThreshold", "holdSeconds", "maxConsecutiveFailures", "rollbackOnEscalation",
              $2::timestamptz AT TIME ZONE 'UTC'
       FROM input
       ON CONFLICT ("engagementId") DO NOTHING
       RETURNING "id", "engagementId", "gateThreshold"
     ), phases AS (
       INSERT INTO "TransitionPhase" ("id", "planId", "sequence", "kind", "name", "volumePct", "minDurationSeconds",
                                      "gated")
       SELECT ph."id", plan."id", ph."sequence", ph."kind"::"PhaseKind", ph."name", ph."volumePct",
              ph."minDurationSeconds", ph."gated"
       FROM plan JOIN input ON input."id" = plan."id",
            jsonb_to_recordset(input."phases") AS ph("id" uuid, "sequence" int, "kind" text, "name" text,
                                                     "volumePct" int, "minDurationSeconds" int, "gated" boolean)
     ), audit AS (
       INSERT INTO "AuditLog" ("id", "actor", "action", "entityType", "entityId", "after", "at")
       SELECT input."auditId", input."actor", 'transition.plan', 'TransitionPlan', plan."id"::text, input."plan",
              $2::timestamptz AT TIME ZONE 'UTC'
       FROM plan JOIN input ON input."id" = plan."id"
     )
     SELECT "engagementId"::text AS "engagementId", "gateThreshold"::float8 AS "gateThreshold" FROM plan`,
    values: [JSON.stringify(rows), new Date().toISOString()],
  });
  const plans = new Map<string, TransitionPlanData>(
    stored.map((row) => [row.engagementId, { ...first.get(row.engagementId)!.plan, gateThreshold: row.gateThreshold }]),
  );
  const theirs = [...first.keys()].filter((id) => !plans.has(id));
  if (theirs.length) {
    const { rows: storedElsewhere } = await pool.query<{ engagementId: string; plan: TransitionPlanData }>({
      name: 'start-stored-plans',
      text: `SELECT p."engagementId"::text AS "engagementId", ${STORED_PLAN} AS "plan"
       FROM "TransitionPlan" p WHERE p."engagementId" = ANY($1::uuid[])`,
      values: [theirs],
    });
    for (const row of storedElsewhere) plans.set(row.engagementId, row.plan);
  }
  return items.map((item) => plans.get(item.engagementId)!);
}
