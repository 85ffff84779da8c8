import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { z } from 'zod';
import { EngagementClosing, EscalationKeyReused, openEscalation, raisedUnderKey } from '../../activities/escalations';
import {
  acknowledgeUpdate,
  changeSeverityUpdate,
  escalationStateQuery,
  reassignUpdate,
  resolveUpdate,
} from '../../workflows/escalation.messages';
import { governanceStateQuery, governanceWorkflowId, type GovernanceInput } from '../../workflows/governance.messages';
import type { Config } from '../config';
import { queryOnPool, type PrismaClient } from '../db';
import { Prisma } from '../generated/prisma/client';
import { clientsOwnEscalation, escalationWorkflowId } from '../domain/escalation';
import { shortestCadenceFirst } from '../domain/types';
import { actorOf, engagementScope, type Principal } from './auth';
import { findVisibleEngagement, workflowUrl } from './engagements';
import { conflict, notFound, ProblemError } from './problem';
import type { ApiRoutes } from './route';
import {
  acknowledgeBody,
  idempotencyHeaders,
  idParams,
  raiseEscalationBody,
  reassignBody,
  resolveBody,
  severityBody,
  startGovernanceBody,
} from './schemas';
import { callTemporal, queryLive, startOnce } from './temporal-calls';
import { updateRoute } from './workflow-updates';
import type { Role } from '../generated/prisma/enums';
import { DateTime } from 'luxon';

export function governanceRoutes(
  api: ApiRoutes,
  deps: { prisma: PrismaClient; temporal: Client; config: Config },
): void {
  const { prisma, temporal, config } = deps;

  api.route(
    {
      method: 'post',
      path: '/engagements/:id/governance',
      summary: 'Start recurring reviews (at steady state, or from a date the engagement sets)',
      tag: 'governance',
      roles: ['PROGRAM_MANAGER'],
      params: idParams,
      body: startGovernanceBody,
      responses: {
        202: 'Started or already running',
        404: 'No such engagement',
        409: 'Not yet in steady state, or already running from another startOn',
        422: 'startOn is outside the term',
      },
    },
    async ({ params, body, principal }) => {
      const e = await findVisibleEngagement(prisma, principal, params.id);
      if (['EXIT', 'CLOSED'].includes(e.stage)) throw conflict(`engagement is in stage ${e.stage}`);
      if (!body.startOn && e.stage !== 'STEADY_STATE' && e.stage !== 'RENEWAL') {
        throw conflict('reviews start at steady state: give startOn to start them earlier');
      }
      // Reviews from before the term would judge months no fee was paid for, each with no data: a breach, the worst
      // credit tier and an escalation per KPI for every period since then.
      const termStart = e.termStart.toISOString().slice(0, 10);
      const termEnd = e.termEnd.toISOString().slice(0, 10);
      if (body.startOn && (body.startOn < termStart || body.startOn >= termEnd)) {
        throw new ProblemError(
          422,
          'Unprocessable Content',
          `body.startOn: ${body.startOn} is outside the term (${termStart} to ${termEnd})`,
          [{ field: 'body.startOn', reason: `must be within the term: from ${termStart}, before ${termEnd}` }],
        );
      }
      const startAt = body.startOn
        ? DateTime.fromISO(body.startOn, { zone: e.timeZone }).toUTC().toISO()!
        : new Date().toISOString();
      const input: GovernanceInput = {
        engagementId: e.id,
        vendorId: e.vendorId,
        timeZone: e.timeZone,
        cadences: shortestCadenceFirst(e.reviewCadences),
        graceSeconds: e.reviewGraceSeconds,
        startAt,
      };
      const workflowId = governanceWorkflowId(e.id);
      const started = await startOnce(temporal, {
        type: 'governance',
        workflowId,
        taskQueue: config.temporal.taskQueue,
        uiLink: workflowUrl(config, workflowId),
        args: [input],
        // It continues as new every REVIEWS_PER_RUN reviews.
        mayHaveContinued: true,
      });
      // A repeat finds the running reviews; one asking for another first date is refused rather than ignored. Asked
      // after the start, so that of two concurrent starts with different dates the one that lost is refused too (it
      // started nothing). Reviews that cannot be asked now (no worker) are not held against the request.
      if (body.startOn) {
        const { live } = await queryLive(temporal, workflowId, governanceStateQuery);
        const from = live?.startAt && DateTime.fromISO(live.startAt, { zone: e.timeZone }).toISODate();
        if (from && from !== body.startOn) {
          throw conflict(
            `reviews already run for this engagement from ${from}, not ${body.startOn}: see GET /engagements/${e.id}/governance`,
          );
        }
      }
      return started;
    },
  );

  api.route(
    {
      method: 'get',
      path: '/engagements/:id/governance',
      summary: 'Review cadences and the next review of each',
      tag: 'governance',
      roles: [],
      params: idParams,
      responses: {
        200: "Live governance state (null when not started or stopped) and the workflow's status",
        404: 'No such engagement',
      },
    },
    async ({ params, principal }) => {
      await findVisibleEngagement(prisma, principal, params.id);
      const workflowId = governanceWorkflowId(params.id);
      const link = workflowUrl(config, workflowId);
      // A stopped governance (the engagement closed) still answers queries from its history: its "next" reviews
      // will never run, so only a running one is asked.
      const described = await callTemporal(temporal, () => temporal.workflow.getHandle(workflowId).describe()).catch(
        () => undefined,
      );
      if (described && described.status.name !== 'RUNNING') {
        return { status: 200, body: { live: null, status: described.status.name, workflowUrl: link } };
      }
      const { live, liveUnavailable } = await queryLive(temporal, workflowId, governanceStateQuery);
      const status = described?.status.name ?? (live ? 'RUNNING' : null);
      return { status: 200, body: { live, status, ...(liveUnavailable && { liveUnavailable }), workflowUrl: link } };
    },
  );

  api.route(
    {
      method: 'post',
      path: '/engagements/:id/escalations',
      summary: 'Raise an escalation (it climbs the matrix on its own)',
      tag: 'escalations',
      roles: ['PROGRAM_MANAGER', 'VENDOR'],
      params: idParams,
      body: raiseEscalationBody,
      headers: idempotencyHeaders,
      responses: {
        201: 'Raised',
        200: 'Raised before under this Idempotency-Key: the same escalation',
        404: 'No such engagement',
        409: 'The engagement is closed',
        422: 'The Idempotency-Key raised another escalation (other severity, title, category or description)',
      },
    },
    async ({ params, body, principal, req }) => {
      const engagement = await findVisibleEngagement(prisma, principal, params.id);
      const key = req.get('idempotency-key') ? `api/${req.get('idempotency-key')}` : `api/${randomUUID()}`;
      const refused = (error: unknown): never => {
        // Closing meanwhile (the check above read the stage before): refused as on a closed engagement.
        if (error instanceof EngagementClosing)
          throw conflict('the engagement is closed: nothing can be escalated on it');
        if (!(error instanceof EscalationKeyReused)) throw error;
        throw new ProblemError(422, 'Unprocessable Content', error.message, [
          { field: 'header.idempotency-key', reason: 'was used for another escalation' },
        ]);
      };
      // Its matrix no longer answers for it; an escalation would climb and remind with no end. A raise retried under
      // its key after the engagement closed still gets its answer.
      if (engagement.stage === 'CLOSED') {
        const raised = req.get('idempotency-key')
          ? await raisedUnderKey(prisma, { engagementId: params.id, key, ...body }).catch(refused)
          : null;
        if (!raised) throw conflict('the engagement is closed: nothing can be escalated on it');
        return { status: 200, body: { ...raised, workflowUrl: workflowUrl(config, raised.workflowId) } };
      }
      const { created, ...opened } = await callTemporal(temporal, () =>
        openEscalation(prisma, temporal, config.temporal.taskQueue, {
          engagementId: params.id,
          ...body,
          raisedBy: actorOf(principal),
          raisedAt: new Date().toISOString(),
          key,
          refuseAnotherUnderKey: true,
          undoUnstarted: true,
        }),
      ).catch(refused);
      return {
        status: created ? 201 : 200,
        body: { ...opened, workflowUrl: workflowUrl(config, opened.workflowId) },
      };
    },
  );

  const visibleEscalation = async (principal: Principal, id: string) => {
    const escalation = await prisma.escalation.findFirst({
      where: { id, engagement: engagementScope(principal) },
      include: { steps: { orderBy: { occurredAt: 'asc' } } },
    });
    if (!escalation) throw notFound(`escalation ${id}`);
    return escalation;
  };

  api.route(
    {
      method: 'get',
      path: '/escalations/:id',
      summary: 'Read an escalation: level history and when it next climbs',
      tag: 'escalations',
      roles: [],
      params: idParams,
      responses: { 200: 'The escalation', 404: 'No such escalation' },
    },
    async ({ params, principal }) => {
      const escalation = await visibleEscalation(principal, params.id);
      const { live, liveUnavailable } = await queryLive(
        temporal,
        escalationWorkflowId(params.id),
        escalationStateQuery,
      );
      return {
        status: 200,
        body: {
          ...escalation,
          live,
          ...(liveUnavailable && { liveUnavailable }),
          workflowUrl: workflowUrl(config, escalationWorkflowId(params.id)),
        },
      };
    },
  );

  const act = <B extends z.ZodType>(
    path: string,
    summary: string,
    roles: Role[],
    body: B,
    send: (handle: WorkflowHandle, actor: string, body: z.infer<B>) => Promise<unknown>,
  ) =>
    updateRoute(
      api,
      { temporal, timeoutMs: config.updateTimeoutMs },
      {
        path: `/escalations/:id/${path}`,
        summary,
        tag: 'escalations',
        roles,
        params: idParams,
        body,
        workflowId: async ({ id }, principal) => {
          // Only whether the caller may see it (the workflow answers with the escalation's state), on the pg pool:
          // every acknowledgement and resolution asks it.
          const { vendorId = null } = engagementScope(principal);
          const { rows } = await queryOnPool<{ raisedBy: string; category: string; idempotencyKey: string | null }>(
            prisma,
            'escalation-visible-to-act',
            Prisma.sql`
              SELECT x."raisedBy", x."category", x."idempotencyKey"
              FROM "Escalation" x JOIN "Engagement" e ON e."id" = x."engagementId"
              WHERE x."id" = ${id}::uuid AND (${vendorId}::uuid IS NULL OR e."vendorId" = ${vendorId}::uuid)`,
          );
          if (!rows.length) throw notFound(`escalation ${id}`);
          const clients = principal.role === 'VENDOR' ? clientsOwnEscalation(rows[0]) : null;
          if (clients)
            throw new ProblemError(403, 'Forbidden', `${clients}: a vendor key cannot ${path} its escalation`);
          return escalationWorkflowId(id);
        },
        notRunning: async ({ id }) => {
          const escalation = await prisma.escalation.findUnique({ where: { id }, select: { resolvedAt: true } });
          return escalation?.resolvedAt
            ? `the escalation is already resolved (${escalation.resolvedAt.toISOString()})`
            : 'the escalation workflow is not running';
        },
      },
      (handle, actor, _params, parsed) => send(handle, actor, parsed),
    );
  // Executives sit on the governance council, the top of every matrix: they answer what reaches them (a renewal
  // decision not made), as program managers and vendors do.
  act(
    'acknowledge',
    'Acknowledge an escalation',
    ['PROGRAM_MANAGER', 'VENDOR', 'EXECUTIVE'],
    acknowledgeBody,
    (handle, actor, b) => handle.executeUpdate(acknowledgeUpdate, { args: [{ actor, note: b.note }] }),
  );
  act(
    'resolve',
    'Resolve an escalation, with its resolution and root cause',
    ['PROGRAM_MANAGER', 'VENDOR', 'EXECUTIVE'],
    resolveBody,
    (handle, actor, b) =>
      handle.executeUpdate(resolveUpdate, { args: [{ actor, resolution: b.resolution, rootCause: b.rootCause }] }),
  );
  act('reassign', 'Reassign an escalation', ['PROGRAM_MANAGER'], reassignBody, (handle, actor, b) =>
    handle.executeUpdate(reassignUpdate, { args: [{ actor, assignee: b.assignee }] }),
  );
  act('severity', 'Change the severity of an escalation', ['PROGRAM_MANAGER'], severityBody, (handle, actor, b) =>
    handle.executeUpdate(changeSeverityUpdate, { args: [{ actor, severity: b.severity }] }),
  );
}
