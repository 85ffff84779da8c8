import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

/**
 * With RECORD_HISTORIES=1, saves a test run's workflow history as a replay fixture (test/fixtures/histories).
 * Normal runs leave the committed fixtures alone.
 */
export async function recordHistoryIfAsked(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  fs.writeFileSync(path.join(__dirname, '..', 'fixtures', 'histories', `${name}.json`), historyToJSON(history) + '\n');
}
