import { createHash } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { z } from 'zod';
import {
  completeExitStepUpdate,
  decideRenewalUpdate,
  lifecycleStateQuery,
  terminateForCauseUpdate,
  type ExitStepState,
  type LifecycleInput,
  type LifecycleState,
} from '../../workflows/lifecycle.messages';
import type { Engagement } from '../generated/prisma/client';
import type { Role } from '../generated/prisma/enums';
import { updateRoute } from './workflow-updates';
import { PLANNED_STAGES, type StartPath } from './start-path';
import { prepareStartOf, START_RESPONSES } from './transition';
import { audit } from '../audit';
import type { Config } from '../config';
import { isUniqueViolation, poolOf, type PrismaClient } from '../db';
import { DEFAULT_ESCALATION_POLICIES } from '../domain/defaults';
import { parseDuration } from '../domain/duration';
import { escalationIdempotencyKey, lifecycleEscalationKeys } from '../domain/escalation';
import { lifecycleWorkflowId } from '../domain/lifecycle';
import { missingExitEvidence, storedDueAt } from '../domain/renewal';
import { actorOf, engagementScope, seesVendor, type Principal } from './auth';
import { conflict, notFound, ProblemError } from './problem';
import type { ApiRoutes } from './route';
import {
  completeExitStepBody,
  createEngagementBody,
  DEFAULT_CREDIT_POOL_PCT,
  exitStepParams,
  idempotencyHeaders,
  idParams,
  listEngagementsQuery,
  fractionProblem,
  renewalDecisionBody,
  startTransitionBody,
  terminateBody,
} from './schemas';
import { readCache, serialised } from './read-cache';
import { postgresTimeZones, requirePostgresTimeZone } from './time-zones';
import { liveStateSince, startOnce, type LiveState } from './temporal-calls';
import type { WorkflowWatches } from './workflow-watches';
import { changeAnnouncements, type EngagementChanges } from './engagement-changes';

export const engagementDetail = {
  vendor: { select: { id: true, legalName: true, deliveryModel: true } },
  slas: {
    include: { creditTiers: { orderBy: { maxShortfall: { sort: 'asc', nulls: 'last' } } } },
    orderBy: { key: 'asc' },
  },
  escalationLevels: { orderBy: { level: 'asc' } },
  escalationPolicies: { orderBy: { severity: 'asc' } },
  councilMembers: true,
} as const;

/**
 * How long an engagement's facts are served without asking PostgreSQL again, while every change to them is heard
 * (`EngagementChanges`): a change drops them at once, so this only bounds what an unheard change could cost.
 */
export const FACTS_KEPT_MS = 60_000;

type EngagementWithDetail = NonNullable<Awaited<ReturnType<typeof loadEngagementDetail>>>;

function loadEngagementDetail(prisma: PrismaClient, id: string) {
  return prisma.engagement.findUnique({ where: { id }, include: engagementDetail });
}

interface CachedDetail {
  engagement: EngagementWithDetail;
  /** Until when (performance.now()) the facts may be served without a read; 0: read them on every refresh. */
  factsUntil: number;
  lifecycle: LiveState<LifecycleState>;
  json: string;
  etag: string;
}

/** What the lifecycle workflow starts with: the engagement's term and renewal rules, and its transition plan. */
export function lifecycleInput(
  engagement: Pick<
    Engagement,
    | 'id'
    | 'vendorId'
    | 'termStart'
    | 'termEnd'
    | 'renewalNoticeDays'
    | 'autoRenew'
    | 'defaultRenewalDecision'
    | 'timeZone'
    | 'reviewGraceSeconds'
  >,
  transitionPlan: LifecycleInput['transitionPlan'],
): LifecycleInput {
  return {
    engagementId: engagement.id,
    vendorId: engagement.vendorId,
    termStart: engagement.termStart.toISOString(),
    termEnd: engagement.termEnd.toISOString(),
    renewalNoticeDays: engagement.renewalNoticeDays,
    autoRenew: engagement.autoRenew,
    defaultDecision: engagement.defaultRenewalDecision,
    transitionPlan,
    timeZone: engagement.timeZone,
    reviewGraceSeconds: engagement.reviewGraceSeconds,
  };
}

/**
 * The stored exit plan of an engagement, as the lifecycle held it, for a lifecycle started again after its run was
 * stopped: the steps with their completion, and whether each was escalated as overdue (and its escalation resolved).
 * A step is due when its plan said (`storedDueAt`: the end of its day in the engagement's zone; on a plan stored
 * before that instant was kept, the end of its UTC date, as before).
 */
export async function storedExit(
  prisma: PrismaClient,
  engagementId: string,
): Promise<{ exit: NonNullable<LifecycleInput['exit']>; completed: boolean } | undefined> {
  const plan = await prisma.exitPlan.findUnique({
    where: { engagementId },
    include: { steps: { orderBy: [{ dueOn: 'asc' }, { kind: 'asc' }] } },
  });
  if (!plan) return undefined;
  const keys = plan.steps.map((s) =>
    escalationIdempotencyKey(engagementId, lifecycleEscalationKeys.overdueStep(s.kind)),
  );
  const escalations = await prisma.escalation.findMany({
    where: { idempotencyKey: { in: keys } },
    select: { idempotencyKey: true, status: true },
  });
  const steps: ExitStepState[] = plan.steps.map((s, i) => {
    const escalation = escalations.find((e) => e.idempotencyKey === keys[i]);
    return {
      kind: s.kind,
      owner: s.owner,
      dueOn: storedDueAt(s),
      ...(s.completedAt && { completedAt: s.completedAt.toISOString(), completedBy: s.completedBy ?? 'unknown' }),
      ...(escalation && { escalated: true, escalationSettled: escalation.status === 'RESOLVED' }),
    };
  });
  return {
    exit: { reason: plan.reason, forCause: plan.forCause, exitAt: steps[steps.length - 1]?.dueOn ?? '', steps },
    completed: plan.completedAt !== null,
  };
}

/** Loads an engagement the principal may see, or 404: a vendor key never learns that another vendor's id exists. */
export async function findVisibleEngagement(prisma: PrismaClient, principal: Principal, id: string) {
  const engagement = await prisma.engagement.findFirst({ where: { id, ...engagementScope(principal) } });
  if (!engagement) throw notFound(`engagement ${id}`);
  return engagement;
}

export function engagementRoutes(
  api: ApiRoutes,
  deps: StartPath & { changes?: EngagementChanges; watches?: WorkflowWatches },
): void {
  const { prisma, temporal, config, starts, startAudits, changes, watches } = deps;
  const announce = changeAnnouncements(poolOf(prisma));
  const timeZones = postgresTimeZones(poolOf(prisma));
  const details = readCache<CachedDetail>({
    freshMs: config.readCacheMs,
    max: 10_000,
    load: async (id, replacing) => {
      const now = performance.now();
      // Read before the facts: a change committed after this reaches `forget`, which keeps this load from being kept.
      const heard = changes?.listening ?? false;
      const keepFacts = replacing !== undefined && now < replacing.factsUntil;
      const engagement = keepFacts ? replacing.engagement : await loadEngagementDetail(prisma, id);
      if (!engagement) return undefined;
      const workflowId = lifecycleWorkflowId(id);
      // Facts come from PostgreSQL; live state from the workflow, when Temporal answers. That no lifecycle runs is
      // kept as long as the facts: only POST /engagements/:id/lifecycle starts one, and every API process
      // announces its starts on the channel the facts' changes are heard on.
      const lifecycle =
        keepFacts && replacing.lifecycle.live === null && replacing.lifecycle.liveUnavailable === undefined
          ? replacing.lifecycle
          : await liveStateSince(temporal, workflowId, lifecycleStateQuery, replacing?.lifecycle, watches);
      if (keepFacts && lifecycle === replacing.lifecycle) return replacing;
      const body = {
        ...engagement,
        lifecycle: lifecycle.live,
        ...(lifecycle.liveUnavailable && { lifecycleUnavailable: lifecycle.liveUnavailable }),
        workflowUrl: workflowUrl(config, workflowId),
      };
      return {
        engagement,
        factsUntil: keepFacts ? replacing.factsUntil : heard ? now + FACTS_KEPT_MS : 0,
        lifecycle,
        // Serialised once per load: every read it serves sends the same bytes.
        ...serialised(body),
      };
    },
  });
  // Whatever a write under /engagements/:id changes, the next read of that engagement loads it afresh; a vendor's
  // name and delivery model are in every one of its engagements. Changes made elsewhere arrive through `changes`.
  api.afterWrite(({ path, params }) => {
    if (path.startsWith('/vendors/')) details.clear();
    else if (path.startsWith('/engagements/') && typeof params.id === 'string') details.forget(params.id);
  });
  changes?.subscribe({ change: (id) => details.forget(id), gap: () => details.clear() });

  api.route(
    {
      method: 'post',
      path: '/engagements',
      summary: 'Create an engagement with its SLAs, escalation matrix and council',
      tag: 'engagements',
      roles: ['PROGRAM_MANAGER'],
      body: createEngagementBody,
      headers: idempotencyHeaders,
      responses: {
        201: 'Created',
        200: 'Created before under this Idempotency-Key, by the same request: the engagement it created',
        422: 'The vendor does not exist, or the Idempotency-Key was used for another engagement',
      },
    },
    async ({ body, principal, req }) => {
      await requirePostgresTimeZone(timeZones, body.timeZone, 'body.timeZone');
      if (!(await prisma.vendor.findUnique({ where: { id: body.vendorId } }))) {
        throw new ProblemError(422, 'Unprocessable Content', 'body.vendorId: no such vendor', [
          { field: 'body.vendorId', reason: 'no such vendor' },
        ]);
      }
      const key = req.get('idempotency-key') || null;
      // A field added later with a default is left out of the fingerprint at that default: a retry of a request whose
      // key was stored before the field existed still matches it.
      const { creditPoolPct, ...withoutLaterDefaults } = body;
      const fingerprinted = creditPoolPct === DEFAULT_CREDIT_POOL_PCT ? withoutLaterDefaults : body;
      const bodyHash = createHash('sha256').update(JSON.stringify(fingerprinted)).digest('hex');
      /** The engagement created under this key before, if any: a retry gets it back, another body is refused. */
      const createdBefore = async () => {
        const seen = key && (await prisma.engagementCreationKey.findUnique({ where: { key } }));
        if (!seen) return null;
        if (seen.bodyHash !== bodyHash) {
          throw new ProblemError(
            422,
            'Unprocessable Content',
            `Idempotency-Key "${key}" was used for another engagement: send this one with a new key`,
            [{ field: 'header.idempotency-key', reason: 'was used for another engagement' }],
          );
        }
        return prisma.engagement.findUniqueOrThrow({ where: { id: seen.engagementId }, include: engagementDetail });
      };
      const before = await createdBefore();
      if (before) return { status: 200, body: before };

      const { slas, escalationLevels, escalationPolicies, councilMembers, reviewGrace, ...fields } = body;
      try {
        const engagement = await prisma.$transaction(async (tx) => {
          const created = await tx.engagement.create({
            data: {
              ...fields,
              termStart: new Date(fields.termStart),
              termEnd: new Date(fields.termEnd),
              reviewGraceSeconds: parseDuration(reviewGrace),
              slas: {
                create: slas.map(({ creditTiers, ...sla }) => ({ ...sla, creditTiers: { create: creditTiers } })),
              },
              escalationLevels: { create: escalationLevels },
              escalationPolicies: { create: escalationPolicies ?? [...DEFAULT_ESCALATION_POLICIES] },
              councilMembers: { create: councilMembers },
              ...(key && { creationKey: { create: { key, bodyHash } } }),
            },
            include: engagementDetail,
          });
          await audit(tx, {
            actor: actorOf(principal),
            action: 'engagement.create',
            entityType: 'Engagement',
            entityId: created.id,
            after: created,
          });
          return created;
        });
        return { status: 201, body: engagement };
      } catch (error) {
        // A concurrent twin under the same key committed first: its engagement is the answer.
        const twin = key && isUniqueViolation(error) ? await createdBefore() : null;
        if (twin) return { status: 200, body: twin };
        throw error;
      }
    },
  );

  api.route(
    {
      method: 'get',
      path: '/engagements',
      summary: 'List engagements',
      tag: 'engagements',
      roles: [],
      query: listEngagementsQuery,
      responses: { 200: 'A page of engagements' },
    },
    async ({ query, principal }) => {
      // AND, not a spread: a vendor key's scope would replace the vendor asked for and answer with its own list.
      const where = {
        AND: [
          query.vendorId ? { vendorId: query.vendorId } : {},
          query.stage ? { stage: query.stage } : {},
          engagementScope(principal),
        ],
      };
      const [items, total] = await Promise.all([
        prisma.engagement.findMany({
          where,
          include: { vendor: { select: { id: true, legalName: true, deliveryModel: true } } },
          orderBy: [{ name: 'asc' }, { id: 'asc' }],
          take: query.limit,
          skip: query.offset,
        }),
        prisma.engagement.count({ where }),
      ]);
      return { status: 200, body: { items, total, limit: query.limit, offset: query.offset } };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/engagements/:id',
      summary: 'Read an engagement with its SLAs, matrix, council and live workflow state',
      tag: 'engagements',
      roles: [],
      params: idParams,
      responses: { 200: 'The engagement', 404: 'No such engagement' },
    },
    async ({ params, principal }) => {
      const detail = await details.get(params.id);
      // A vendor key never learns that another vendor's engagement exists.
      if (!detail || !seesVendor(principal, detail.engagement.vendorId)) throw notFound(`engagement ${params.id}`);
      return { status: 200, json: detail.json, etag: detail.etag };
    },
  );

  api.route(
    {
      method: 'post',
      path: '/engagements/:id/lifecycle',
      summary:
        'Start the engagement lifecycle: transition, governance, renewal, exit (a repeat returns the running one)',
      tag: 'engagements',
      roles: ['PROGRAM_MANAGER'],
      params: idParams,
      body: startTransitionBody,
      responses: START_RESPONSES,
    },
    async (request) => {
      const { params } = request;
      const engagement = await prepareStartOf(starts, request, true, true);
      // Past the transition the lifecycle starts at governance: it is given no plan. Exiting, it takes up the exit.
      const transitionPlan = PLANNED_STAGES.includes(engagement.stage) ? engagement.transitionPlan : null;
      // An exit plan not completed is taken up, also in a stage before EXIT (a run stopped after storing the plan,
      // before moving the stage); an engagement in EXIT without one has nothing to take up.
      const stored = engagement.hasExitPlan ? await storedExit(prisma, params.id) : undefined;
      // (A completed plan in EXIT: the run before stopped just before closing; this one closes.)
      const exit = stored && (engagement.stage === 'EXIT' || !stored.completed) ? stored.exit : undefined;
      if (engagement.stage === 'EXIT' && !exit)
        throw conflict('the engagement is in EXIT with no exit plan stored: there is no exit to take up');
      const input = { ...lifecycleInput(engagement, transitionPlan), ...(exit && { exit }) };
      const workflowId = lifecycleWorkflowId(params.id);
      try {
        const started = await startOnce(temporal, {
          type: 'engagementLifecycle',
          workflowId,
          taskQueue: config.temporal.taskQueue,
          uiLink: workflowUrl(config, workflowId),
          args: [input],
          // It continues as new at each renewal: from then on a repeat finds a later run of the one started.
          mayHaveContinued: !PLANNED_STAGES.includes(engagement.stage),
        });
        // Who started the workflow that will run the engagement's life: once per chain of runs (a repeat finds the
        // running one).
        await startAudits.load({
          actor: actorOf(request.principal),
          action: 'engagement.lifecycle-start',
          entityType: 'Engagement',
          entityId: params.id,
          after: { workflowId, runId: started.body.runId, stage: engagement.stage },
          key: `lifecycle-start/${started.body.runId}`,
        });
        return started;
      } finally {
        // Other API processes may have kept that no lifecycle runs (this one drops it after every write); also after
        // a failure, which may come after Temporal started the workflow (a deadline).
        announce(params.id);
      }
    },
  );

  const steer = <P extends z.ZodType, B extends z.ZodType>(
    spec: {
      path: string;
      summary: string;
      roles: Role[];
      params: P;
      body: B;
      /**
       * Refuses (throws a 400) what the schemas cannot, the body read with its path and the engagement's facts: once
       * the engagement is found visible (an invisible one is 404 whatever is sent), before the workflow is asked.
       */
      check?: (params: z.infer<P>, body: z.infer<B>, engagement: Engagement) => void;
    },
    send: (handle: WorkflowHandle, actor: string, params: z.infer<P>, body: z.infer<B>) => Promise<unknown>,
  ) =>
    updateRoute(
      api,
      { temporal, timeoutMs: config.updateTimeoutMs },
      {
        ...spec,
        tag: 'lifecycle',
        workflowId: async (params, principal, body) => {
          const { id } = params as { id: string };
          const engagement = await findVisibleEngagement(prisma, principal, id);
          spec.check?.(params, body, engagement);
          return lifecycleWorkflowId(id);
        },
        notRunning: 'the engagement lifecycle is not running',
      },
      send,
    );

  steer(
    {
      path: '/engagements/:id/renewal-decision',
      summary: 'Decide the renewal (executives only, while a decision is pending)',
      roles: ['EXECUTIVE'],
      params: idParams,
      body: renewalDecisionBody,
      // The renegotiated fee is billed in the engagement's currency: a whole amount in one without a minor unit.
      check: (_p, b, engagement) => {
        const fraction =
          b.newMonthlyFee === undefined ? undefined : fractionProblem(engagement.currency, b.newMonthlyFee);
        if (fraction) throw badField('body.newMonthlyFee', fraction);
      },
    },
    (handle, actor, _p, b) =>
      handle.executeUpdate(decideRenewalUpdate, {
        args: [{ actor, decision: b.decision, reason: b.reason, newMonthlyFee: b.newMonthlyFee }],
      }),
  );
  steer(
    {
      path: '/engagements/:id/exit-steps/:kind/complete',
      summary: 'Complete an exit step',
      roles: ['PROGRAM_MANAGER', 'VENDOR'],
      params: exitStepParams,
      body: completeExitStepBody,
      // Bad input whatever the step's state (once the engagement is found visible).
      check: (p, b) => {
        const missing = missingExitEvidence(p.kind, b.evidence);
        if (missing) throw badField('body.evidence', missing);
      },
    },
    (handle, actor, p, b) =>
      handle.executeUpdate(completeExitStepUpdate, { args: [{ actor, kind: p.kind, evidence: b.evidence }] }),
  );
  steer(
    {
      path: '/engagements/:id/terminate',
      summary: 'Terminate for cause: stops the current stage and starts the exit',
      roles: ['EXECUTIVE'],
      params: idParams,
      body: terminateBody,
    },
    (handle, actor, _p, b) => handle.executeUpdate(terminateForCauseUpdate, { args: [{ actor, reason: b.reason }] }),
  );
}

export function workflowUrl(config: Config, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** A 400 naming one field of the request and why it is refused. */
function badField(field: string, reason: string): ProblemError {
  return new ProblemError(400, 'Invalid request', `${field}: ${reason}`, [{ field, reason }]);
}
