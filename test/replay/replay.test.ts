import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../helpers/temporal';

/**
 * Every recorded history under test/fixtures/histories must replay on today's workflow code: a change that would
 * break runs in flight (years-long ones included) fails here. Record new ones with `npm run record-history`.
 */
const dir = path.join(__dirname, '..', 'fixtures', 'histories');
const fixtures = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
const workflowTypes = ['engagementLifecycle', 'transition', 'governance', 'escalation'];

describe('replay of recorded histories', () => {
  it.each(workflowTypes)('has at least one recorded history for %s', (type) => {
    expect(fixtures.some((f) => f.startsWith(`${type}-`))).toBe(true);
  });

  it.each(fixtures)('replays %s without nondeterminism', async (fixture) => {
    const history = JSON.parse(fs.readFileSync(path.join(dir, fixture), 'utf8'));
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, fixture.replace(/\.json$/, '')),
    ).resolves.toBeUndefined();
  });
});
