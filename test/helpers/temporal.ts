import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { createLogger } from '../../src/logger';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes';
import { testServerPath } from './paths';

/**
 * Java time-skipping test server from the project's cache (scripts/ensure-test-server.sh puts it there). The SDK
 * gives it 5 s to listen; a JVM starting on a busy 2-core machine has once needed more, so a start that timed out
 * is tried again (twice at most) on a new port.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      const env = await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: testServerPath } },
      });
      await ensureSearchAttributes(env.client, createLogger('test', 'warn'));
      return env;
    } catch (error) {
      if (attempt >= 3 || !/did not start within/.test(String(error))) throw error;
    }
  }
}

/** The run's shared dev server (global setup), as a test environment with a client and a native connection. */
export function connectDevServer(): Promise<TestWorkflowEnvironment> {
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEST_TEMPORAL_ADDRESS is not set: run the tests through jest (global setup)');
  return TestWorkflowEnvironment.createFromExistingServer({ address });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietLogger });
  return bundle;
}

/** The SDK's logger with everything but errors silenced (bundling is chatty). */
export const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string) => console.error(message),
};
