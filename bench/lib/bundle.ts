import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { quietLogger } from '../../test/helpers/temporal';

/** The bench-only workflows (bench/workflows.ts), bundled for a bench worker. */
export function benchWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietLogger });
}
