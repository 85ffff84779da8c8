import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Request } from 'express';
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
import type { PrismaClient } from '../db';
import { parseDuration } from '../domain/duration';
import { defaultTransitionPlan, planProblems, type PhasePlan, type TransitionPlanData } from '../domain/transition';
import { actorOf, type Principal } from './auth';
import { findVisibleEngagement, workflowUrl } from './engagements';
import { conflict, ProblemError } from './problem';
import type { ApiRoutes } from './route';
import {
  approveGateBody,
  changePlanBody,
  idParams,
  noteBody,
  overrideGateBody,
  pauseBody,
  startTransitionBody,
} from './schemas';
import { lifecycleWorkflowId } from '../domain/lifecycle';
import {
  PLANNED_STAGES,
  prepareStart,
  refusePastNoticeDeadline,
  type StartableEngagement,
  type StartPath,
  type StartStatements,
} from './start-path';
import { callTemporal, queryLive, startOnce } from './temporal-calls';
import { updateRoute } from './workflow-updates';

/**
 * The transition's state as its workflow last knew it. A run terminated (or failed) while it ran answers its query
 * with the state it had, RUNNING or PAUSED: it reads as the run's end (TERMINATED, FAILED, TIMED_OUT) with no next
 * gate, so nobody is offered to steer what does not run.
 */
async function liveTransition(temporal: Client, workflowId: string) {
  const read = await queryLive(temporal, workflowId, transitionStateQuery);
  if (!read.live || !['RUNNING', 'PAUSED'].includes(read.live.status)) return read;
  const ended = await callTemporal(temporal, () => temporal.workflow.getHandle(workflowId).describe()).then(
    (d) => (d.status.name === 'RUNNING' ? undefined : d.status.name),
    () => undefined,
  );
  return ended ? { ...read, live: { ...read.live, status: ended, nextGateAt: null } } : read;
}

export function transitionRoutes(api: ApiRoutes, deps: StartPath): void {
  const { prisma, temporal, config, starts, startAudits } = deps;

  api.route(
    {
      method: 'post',
      path: '/engagements/:id/transition',
      summary:
        'Start the phased transition (a repeat returns the running one; one that failed or was terminated resumes)',
      tag: 'transition',
      roles: ['PROGRAM_MANAGER'],
      params: idParams,
      body: startTransitionBody,
      responses: START_RESPONSES,
    },
    async (request) => {
      const { params } = request;
      const engagement = await prepareStartOf(starts, request);
      if (!PLANNED_STAGES.includes(engagement.stage)) throw conflict('the transition is already complete');
      const plan = engagement.transitionPlan!;
      const workflowId = transitionWorkflowId(params.id);
      try {
        const started = await startOnce(temporal, {
          type: 'transition',
          workflowId,
          taskQueue: config.temporal.taskQueue,
          uiLink: workflowUrl(config, workflowId),
          args: [{ engagementId: params.id, vendorId: engagement.vendorId, plan }],
          // One that failed or was terminated is started again, and resumes where its stored phases stand.
          onlyAfterFailure: true,
          // It continues as new when its history grows long: a repeat may then find a later run of the one started.
          mayHaveContinued: engagement.stage !== 'CONTRACTED',
        });
        // Once per run: a start again after a failure is a run of its own, and recorded as such.
        await startAudits.load({
          actor: actorOf(request.principal),
          action: 'transition.start',
          entityType: 'Engagement',
          entityId: params.id,
          after: { workflowId, runId: started.body.runId },
          key: `transition-start/${started.body.runId}`,
        });
        return started;
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
        ? await liveTransition(temporal, transitionWorkflowId(params.id))
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
    send: (handle: WorkflowHandle, actor: string, body: z.infer<B>, engagementId: string) => Promise<unknown>,
  ) =>
    updateRoute(
      api,
      { temporal, timeoutMs: config.updateTimeoutMs },
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
      (handle, actor, params, parsed) => send(handle, actor, parsed, params.id),
    );

  steer(
    'approve-gate',
    'Approve the current phase’s gate now, before its minimum duration (name the phase to make a repeat harmless)',
    approveGateBody,
    (handle, actor, b) => handle.executeUpdate(approveGateUpdate, { args: [{ actor, note: b.note, phase: b.phase }] }),
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
  steer('plan', 'Replace the phases after the current one', changePlanBody, async (handle, actor, b, id) => {
    const phases = b.phases.map(toPhasePlan);
    await planChangeEndsInTime(prisma, temporal, id, phases);
    return handle.executeUpdate(changePlanUpdate, { args: [{ actor, phases }] });
  });
}

/**
 * Under a running lifecycle, the renewal is evaluated after the transition: new phases that could not end before the
 * renewal notice deadline would leave the contract's default to apply with no one deciding, as a lifecycle start
 * refuses (start-path). The phases that started stay, counted from where they stand.
 */
async function planChangeEndsInTime(
  prisma: PrismaClient,
  temporal: Client,
  engagementId: string,
  phases: PhasePlan[],
): Promise<void> {
  const lifecycle = await callTemporal(temporal, () =>
    temporal.workflow.getHandle(lifecycleWorkflowId(engagementId)).describe(),
  ).catch(() => null);
  if (lifecycle?.status.name !== 'RUNNING') return;
  const e = await prisma.engagement.findUniqueOrThrow({
    where: { id: engagementId },
    select: {
      termStart: true,
      termEnd: true,
      renewalNoticeDays: true,
      timeZone: true,
      transitionPlan: { select: { phases: { orderBy: { sequence: 'asc' } } } },
    },
  });
  // The workflow keeps the phases up to its current one, the first not yet passed (started or not: a pause may hold
  // it before its start), and replaces those after it.
  const stored = e.transitionPlan?.phases ?? [];
  const current = stored.findIndex((p) => p.status !== 'PASSED' && p.status !== 'OVERRIDDEN');
  const kept = stored.slice(0, current === -1 ? stored.length : current + 1);
  const ms = (d: Date | null) => (d ? d.getTime() : null);
  refusePastNoticeDeadline(
    {
      ...e,
      phaseProgress: [
        ...kept.map((p) => ({ startedAtMs: ms(p.startedAt), completedAtMs: ms(p.completedAt) })),
        ...phases.map(() => ({ startedAtMs: null, completedAtMs: null })),
      ],
    },
    { phases: [...kept, ...phases] },
    'the new plan',
    'Shorten the phases',
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

/** A start body with any field asks for a plan of its own; an empty one takes the stored or the default plan. */
function asksForAPlan(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Object.keys(body).length > 0;
}

/** The answers of a start route (POST …/transition, POST …/lifecycle). */
export const START_RESPONSES = {
  202: 'Started or already running',
  404: 'No such engagement',
  409: 'The engagement is not ready, or an earlier start stored another plan',
};

/** `prepareStart` for a start request: the plan its body asks for, or the stored or default one for an empty body. */
export function prepareStartOf(
  starts: StartStatements,
  request: { params: { id: string }; body: z.infer<typeof startTransitionBody>; principal: Principal; req: Request },
  /** A lifecycle start: its transition must be able to end before the renewal notice deadline. */
  beforeNoticeDeadline = false,
  /** A lifecycle start: an engagement in EXIT may have its lifecycle started again, to take up the exit. */
  exitingAllowed = false,
): Promise<StartableEngagement> {
  const { params, body, principal, req } = request;
  return prepareStart(
    starts,
    principal,
    params.id,
    planFromBody(body),
    actorOf(principal),
    asksForAPlan(req.body),
    beforeNoticeDeadline,
    exitingAllowed,
  );
}
