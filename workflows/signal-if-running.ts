import { getExternalWorkflowHandle, type SignalDefinition } from '@temporalio/workflow';

/**
 * Signals the workflow running under `workflowId`, and answers whether it got the signal: one not running (closed, or
 * never started) fails it, which is no error here (a lifecycle started without governance, a governance or transition
 * started on its own with no lifecycle).
 */
export function signalIfRunning<Args extends unknown[]>(
  workflowId: string,
  signal: SignalDefinition<Args>,
  ...args: Args
): Promise<boolean> {
  return getExternalWorkflowHandle(workflowId)
    .signal(signal, ...args)
    .then(
      () => true,
      () => false,
    );
}
