import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { lifecycleStateQuery } from '../../workflows/lifecycle.messages';
import { audit } from '../audit';
import type { Config } from '../config';
import type { PrismaClient } from '../db';
import { DEFAULT_ESCALATION_POLICIES } from '../domain/defaults';
import { parseDuration } from '../domain/duration';
import { lifecycleWorkflowId } from '../domain/lifecycle';
import { actorOf, engagementScope, type Principal } from './auth';
import { conflict, notFound, ProblemError } from './problem';
import type { ApiRoutes } from './route';
import { createEngagementBody, idParams, listEngagementsQuery } from './schemas';
import { callTemporal, queryLive } from './temporal-calls';

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

/** Loads an engagement the principal may see, or 404: a vendor key never learns that another vendor's id exists. */
export async function findVisibleEngagement(prisma: PrismaClient, principal: Principal, id: string) {
  const engagement = await prisma.engagement.findFirst({ where: { id, ...engagementScope(principal) } });
  if (!engagement) throw notFound(`engagement ${id}`);
  return engagement;
}

export function engagementRoutes(
  api: ApiRoutes,
  deps: { prisma: PrismaClient; temporal: Client; config: Config },
): void {
  const { prisma, temporal, config } = deps;

  api.route(
    {
      method: 'post',
      path: '/engagements',
      summary: 'Create an engagement with its SLAs, escalation matrix and council',
      tag: 'engagements',
      roles: ['PROGRAM_MANAGER'],
      body: createEngagementBody,
      responses: { 201: 'Created', 422: 'The vendor does not exist' },
    },
    async ({ body, principal }) => {
      if (!(await prisma.vendor.findUnique({ where: { id: body.vendorId } }))) {
        throw new ProblemError(422, 'Unprocessable Content', 'body.vendorId: no such vendor', [
          { field: 'body.vendorId', reason: 'no such vendor' },
        ]);
      }
      const { slas, escalationLevels, escalationPolicies, councilMembers, reviewGrace, ...fields } = body;
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
      const where = {
        ...(query.vendorId ? { vendorId: query.vendorId } : {}),
        ...(query.stage ? { stage: query.stage } : {}),
        ...engagementScope(principal),
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
      const engagement = await prisma.engagement.findFirst({
        where: { id: params.id, ...engagementScope(principal) },
        include: engagementDetail,
      });
      if (!engagement) throw notFound(`engagement ${params.id}`);
      const workflowId = lifecycleWorkflowId(params.id);
      // Facts come from PostgreSQL; live state from the workflow, when Temporal answers.
      const { live: lifecycle, liveUnavailable: lifecycleUnavailable } = await queryLive(
        temporal,
        workflowId,
        lifecycleStateQuery,
      );
      return {
        status: 200,
        body: {
          ...engagement,
          lifecycle,
          ...(lifecycleUnavailable && { lifecycleUnavailable }),
          workflowUrl: workflowUrl(config, workflowId),
        },
      };
    },
  );

  api.route(
    {
      method: 'post',
      path: '/engagements/:id/lifecycle',
      summary: 'Start the engagement lifecycle (a repeat returns the running one)',
      tag: 'engagements',
      roles: ['PROGRAM_MANAGER'],
      params: idParams,
      responses: { 202: 'Started or already running', 404: 'No such engagement', 409: 'Engagement is closed' },
    },
    async ({ params, principal }) => {
      const engagement = await findVisibleEngagement(prisma, principal, params.id);
      if (engagement.stage === 'CLOSED') throw conflict(`engagement ${params.id} is closed`);
      const workflowId = lifecycleWorkflowId(params.id);
      const handle = await callTemporal(temporal, () =>
        temporal.workflow.start('engagementLifecycle', {
          workflowId,
          taskQueue: config.temporal.taskQueue,
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
          args: [
            {
              engagementId: params.id,
              vendorId: engagement.vendorId,
              transitionStartsAt: engagement.termStart.toISOString(),
            },
          ],
        }),
      );
      return {
        status: 202,
        body: { workflowId, runId: handle.firstExecutionRunId, workflowUrl: workflowUrl(config, workflowId) },
      };
    },
  );
}

export function workflowUrl(config: Config, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
