import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { z } from 'zod';
import type { Role } from '../generated/prisma/enums';
import { actorOf, type Principal } from './auth';
import { conflict } from './problem';
import type { ApiRoutes } from './route';
import { callTemporal } from './temporal-calls';

/**
 * A route that steers a running workflow with an update: the caller gets the workflow's state after the change, or
 * 409 with the validator's reason when the change is not allowed now (or nothing is running).
 */
export function updateRoute<P extends z.ZodType, B extends z.ZodType>(
  api: ApiRoutes,
  /**
   * `timeoutMs`: how long to wait for the workflow's answer. Updates answer after the workflow has recorded the
   * change in PostgreSQL: allow for a slow database (`API_UPDATE_TIMEOUT_MS`).
   */
  { temporal, timeoutMs }: { temporal: Client; timeoutMs: number },
  spec: {
    method?: 'post' | 'put';
    path: string;
    summary: string;
    tag: string;
    roles: Role[];
    params: P;
    body: B;
    /**
     * Loads the target the caller may see (404 otherwise) and names its workflow. It may refuse (throw a 400) what the
     * schemas cannot, the body read with its path and the target's facts: an invisible target is 404 whatever is sent,
     * and the workflow is not asked.
     */
    workflowId: (params: z.infer<P>, principal: Principal, body: z.infer<B>) => Promise<string>;
    /** The 409's reason when the workflow is not running: a fixed text, or one read from the target's facts. */
    notRunning: string | ((params: z.infer<P>) => Promise<string>);
  },
  send: (handle: WorkflowHandle, actor: string, params: z.infer<P>, body: z.infer<B>) => Promise<unknown>,
): void {
  api.route(
    {
      method: spec.method ?? 'post',
      path: spec.path,
      summary: spec.summary,
      tag: spec.tag,
      roles: spec.roles,
      params: spec.params,
      body: spec.body,
      responses: {
        200: 'The workflow state after the change',
        404: 'Not found',
        409: 'Not allowed in the current state',
        504: 'The workflow did not answer in time (no worker running it, or it is busy): read the state before sending again',
      },
    },
    async ({ params, body, principal }) => {
      const handle = temporal.workflow.getHandle(await spec.workflowId(params, principal, body));
      try {
        const state = await callTemporal(temporal, () => send(handle, actorOf(principal), params, body), timeoutMs);
        return { status: 200, body: state };
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError) throw conflict(rootMessage(error));
        if (error instanceof WorkflowNotFoundError)
          throw conflict(typeof spec.notRunning === 'string' ? spec.notRunning : await spec.notRunning(params));
        throw error;
      }
    },
  );
}

/** The innermost cause's message: for a rejected update, the validator's own words. */
function rootMessage(error: Error): string {
  let cause: Error | undefined = error;
  while (cause?.cause instanceof Error) cause = cause.cause;
  return cause?.message ?? error.message;
}
