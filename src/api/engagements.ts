import { WorkflowIdConflictPolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { Router } from 'express';
import { lifecycleStateQuery } from '../../workflows/lifecycle.messages';
import type { Config } from '../config';
import type { PrismaClient } from '../db';
import { lifecycleWorkflowId } from '../domain/lifecycle';
import { notFound, ProblemError } from './problem';
import { createEngagementBody, uuidParam } from './schemas';
import { parseBody, parseParams } from './validate';

export function engagementsRouter(deps: { prisma: PrismaClient; temporal: Client; config: Config }): Router {
  const router = Router();
  const { prisma, temporal, config } = deps;

  router.post('/engagements', async (req, res) => {
    const body = parseBody(createEngagementBody, req);
    const vendor = await prisma.vendor.findUnique({ where: { id: body.vendorId } });
    if (!vendor) {
      throw new ProblemError(422, 'Unprocessable Content', 'vendorId: no such vendor', [
        { field: 'body.vendorId', reason: 'no such vendor' },
      ]);
    }
    const engagement = await prisma.engagement.create({
      data: { ...body, termStart: new Date(body.termStart), termEnd: new Date(body.termEnd) },
    });
    res.status(201).json(engagement);
  });

  router.get('/engagements/:id', async (req, res) => {
    const { id } = parseParams(uuidParam, req);
    const engagement = await prisma.engagement.findUnique({
      where: { id },
      include: { stageChanges: { orderBy: { occurredAt: 'asc' } } },
    });
    if (!engagement) throw notFound(`engagement ${id}`);
    const workflowId = lifecycleWorkflowId(id);
    let lifecycle = null;
    try {
      lifecycle = await temporal.workflow.getHandle(workflowId).query(lifecycleStateQuery);
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    res.json({ ...engagement, lifecycle, workflowUrl: workflowUrl(config, workflowId) });
  });

  /** Starts the engagement's lifecycle; a repeat returns the running one instead of starting a second. */
  router.post('/engagements/:id/lifecycle', async (req, res) => {
    const { id } = parseParams(uuidParam, req);
    const engagement = await prisma.engagement.findUnique({ where: { id } });
    if (!engagement) throw notFound(`engagement ${id}`);
    const workflowId = lifecycleWorkflowId(id);
    const handle = await temporal.workflow.start('engagementLifecycle', {
      workflowId,
      taskQueue: config.temporal.taskQueue,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      args: [
        {
          engagementId: id,
          vendorId: engagement.vendorId,
          transitionStartsAt: engagement.termStart.toISOString(),
        },
      ],
    });
    res
      .status(202)
      .json({ workflowId, runId: handle.firstExecutionRunId, workflowUrl: workflowUrl(config, workflowId) });
  });

  return router;
}

export function workflowUrl(config: Config, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
