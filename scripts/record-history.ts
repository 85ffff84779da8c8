/**
 * Saves a workflow's event history as a replay-test fixture:
 *   npm run record-history -- <workflowId> <fixture-name>
 * against the cluster in TEMPORAL_ADDRESS (default: the dev server from `npm start`). Replay tests
 * (test/replay) then prove today's workflow code still replays runs recorded from earlier versions.
 */
import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { loadConfig } from '../src/config';
import { connectTemporal } from '../src/temporal/connection';

async function main(): Promise<void> {
  const [workflowId, name] = process.argv.slice(2);
  if (!workflowId || !name) throw new Error('usage: npm run record-history -- <workflowId> <fixture-name>');
  const client = await connectTemporal(loadConfig().temporal);
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const file = path.join('test', 'fixtures', 'histories', `${name}.json`);
  // Proto3 JSON, the format `temporal workflow show --output json` writes and the Web UI downloads.
  fs.writeFileSync(file, historyToJSON(history) + '\n');
  console.log(`wrote ${file} (${history.events?.length ?? 0} events)`);
  await client.connection.close();
}

main().catch((error: unknown) => {
  console.error(String(error));
  process.exit(1);
});
