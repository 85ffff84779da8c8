import type { PrismaClient } from '../db';
import { EXIT_STEP_EVIDENCE, storedDueAt } from '../domain/renewal';
import { findVisibleEngagement } from './engagements';
import type { ApiRoutes } from './route';
import { auditQuery, idParams, listEscalationsQuery, listPageQuery } from './schemas';

/** Read endpoints for the facts the workflows write: transition, reviews, escalations, renewal, exit, changes. */
export function readRoutes(api: ApiRoutes, { prisma }: { prisma: PrismaClient }): void {
  const page = <T>(items: T[], total: number, q: { limit: number; offset: number }) => ({
    items,
    total,
    limit: q.limit,
    offset: q.offset,
  });

  api.route(
    {
      method: 'get',
      path: '/engagements/:id/stage-changes',
      summary: 'Read the lifecycle stage history',
      tag: 'engagements',
      roles: [],
      params: idParams,
      responses: { 200: 'Stage changes, oldest first', 404: 'No such engagement' },
    },
    async ({ params, principal }) => {
      await findVisibleEngagement(prisma, principal, params.id);
      const items = await prisma.stageChange.findMany({
        where: { engagementId: params.id },
        orderBy: { occurredAt: 'asc' },
      });
      return { status: 200, body: { items } };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/engagements/:id/reviews',
      summary: 'List reviews with scorecards and service credits',
      tag: 'governance',
      roles: [],
      params: idParams,
      query: listPageQuery,
      responses: { 200: 'A page of reviews, newest first', 404: 'No such engagement' },
    },
    async ({ params, query, principal }) => {
      await findVisibleEngagement(prisma, principal, params.id);
      const where = { engagementId: params.id };
      const [items, total] = await Promise.all([
        prisma.review.findMany({
          where,
          include: { credits: true },
          orderBy: [{ periodStart: 'desc' }, { cadence: 'asc' }, { id: 'asc' }],
          take: query.limit,
          skip: query.offset,
        }),
        prisma.review.count({ where }),
      ]);
      return { status: 200, body: page(items, total, query) };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/engagements/:id/escalations',
      summary: 'List escalations with their level history',
      tag: 'governance',
      roles: [],
      params: idParams,
      query: listEscalationsQuery,
      responses: { 200: 'A page of escalations, newest first', 404: 'No such engagement' },
    },
    async ({ params, query, principal }) => {
      await findVisibleEngagement(prisma, principal, params.id);
      const where = { engagementId: params.id, ...(query.status ? { status: query.status } : {}) };
      const [items, total] = await Promise.all([
        prisma.escalation.findMany({
          where,
          include: { steps: { orderBy: { occurredAt: 'asc' } } },
          orderBy: [{ raisedAt: 'desc' }, { id: 'desc' }],
          take: query.limit,
          skip: query.offset,
        }),
        prisma.escalation.count({ where }),
      ]);
      return { status: 200, body: page(items, total, query) };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/engagements/:id/action-items',
      summary: 'List action items',
      tag: 'governance',
      roles: [],
      params: idParams,
      query: listPageQuery,
      responses: { 200: 'A page of action items', 404: 'No such engagement' },
    },
    async ({ params, query, principal }) => {
      await findVisibleEngagement(prisma, principal, params.id);
      const where = { engagementId: params.id };
      const [items, total] = await Promise.all([
        prisma.actionItem.findMany({
          where,
          orderBy: [{ dueOn: 'asc' }, { id: 'asc' }],
          take: query.limit,
          skip: query.offset,
        }),
        prisma.actionItem.count({ where }),
      ]);
      return { status: 200, body: page(items, total, query) };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/engagements/:id/renewal-evaluations',
      summary: 'List renewal evaluations and decisions',
      tag: 'renewal',
      roles: [],
      params: idParams,
      responses: { 200: 'Renewal evaluations, newest first', 404: 'No such engagement' },
    },
    async ({ params, principal }) => {
      await findVisibleEngagement(prisma, principal, params.id);
      const items = await prisma.renewalEvaluation.findMany({
        where: { engagementId: params.id },
        orderBy: { termEnd: 'desc' },
      });
      return { status: 200, body: { items } };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/engagements/:id/exit-plan',
      summary: 'Read the exit plan and its steps',
      tag: 'exit',
      roles: [],
      params: idParams,
      responses: { 200: 'The exit plan, or null', 404: 'No such engagement' },
    },
    async ({ params, principal }) => {
      await findVisibleEngagement(prisma, principal, params.id);
      const plan = await prisma.exitPlan.findUnique({
        where: { engagementId: params.id },
        include: { steps: { orderBy: { dueOn: 'asc' } } },
      });
      // When each step becomes overdue (the end of its due day in the engagement's zone, as the lifecycle waits for
      // it), and what completing it must carry (the certificate of deletion), so that a page need not work either out.
      const steps = plan?.steps.map((step) => ({
        ...step,
        dueAt: storedDueAt(step),
        evidenceRequired: EXIT_STEP_EVIDENCE[step.kind] ?? null,
      }));
      return { status: 200, body: { plan: plan && { ...plan, steps } } };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/engagements/:id/change-requests',
      summary: 'List change requests',
      tag: 'governance',
      roles: [],
      params: idParams,
      query: listPageQuery,
      responses: { 200: 'A page of change requests', 404: 'No such engagement' },
    },
    async ({ params, query, principal }) => {
      await findVisibleEngagement(prisma, principal, params.id);
      const where = { engagementId: params.id };
      const [items, total] = await Promise.all([
        prisma.changeRequest.findMany({
          where,
          orderBy: [{ effectiveOn: 'asc' }, { id: 'asc' }],
          take: query.limit,
          skip: query.offset,
        }),
        prisma.changeRequest.count({ where }),
      ]);
      return { status: 200, body: page(items, total, query) };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/audit-log',
      summary: 'Read the audit log',
      tag: 'audit',
      roles: ['PROGRAM_MANAGER', 'EXECUTIVE', 'VIEWER'],
      query: auditQuery,
      responses: { 200: 'A page of audit entries, newest first' },
    },
    async ({ query }) => {
      const where = {
        ...(query.entityType && { entityType: query.entityType }),
        ...(query.entityId && { entityId: query.entityId }),
      };
      const [items, total] = await Promise.all([
        prisma.auditLog.findMany({
          where,
          orderBy: [{ at: 'desc' }, { id: 'desc' }],
          take: query.limit,
          skip: query.offset,
        }),
        prisma.auditLog.count({ where }),
      ]);
      return { status: 200, body: page(items, total, query) };
    },
  );
}
