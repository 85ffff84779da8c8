import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';

/**
 * How a benchmark reports: a table on stdout and bench/results/<name>.json. Ratios come first because other
 * processes share this machine; the load average at start and end says how busy it was.
 */
export interface Row {
  metric: string;
  value: string;
  goal?: string;
  met?: boolean;
}

// The benchmark imports this module first thing: the load average here is the machine's before the run.
const loadAtStart = os.loadavg()[0];

export function machine() {
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadAverage1m: { atStart: round(loadAtStart), atEnd: round(os.loadavg()[0]) },
  };
}

/**
 * The code measured: the commit, and whether the product's own files (not bench/) differed from it when the run
 * started; other engineers change them while benchmarks run.
 */
const git = (...args: string[]) => {
  try {
    return execFileSync('git', args, { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8', stdio: 'pipe' });
  } catch {
    return '';
  }
};
const revisionAtStart = {
  commit: git('rev-parse', '--short', 'HEAD').trim() || 'unknown (no git checkout)',
  uncommittedProductChanges: git('status', '--porcelain', '--', 'src', 'activities', 'workflows', 'prisma')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(3)),
};

export function printTable(title: string, rows: Row[]): void {
  const cells = rows.map((r) => [
    r.metric,
    r.value,
    r.goal ?? '',
    r.met === undefined ? '' : r.met ? 'met' : 'NOT met',
  ]);
  const header = ['metric', 'value', 'goal', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  console.log(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const c of cells) console.log(line(c));
  const m = machine();
  console.log(
    `machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}; ` +
      `load average ${m.loadAverage1m.atStart} at start, ${m.loadAverage1m.atEnd} at end; code at ${revisionAtStart.commit}` +
      `${revisionAtStart.uncommittedProductChanges.length ? ` with uncommitted changes to ${revisionAtStart.uncommittedProductChanges.join(', ')}` : ''}\n`,
  );
}

export async function writeResults(name: string, results: Record<string, unknown>): Promise<string> {
  const file = path.join(__dirname, '..', 'results', `${name}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Formatted the way `prettier --check bench` wants it, so the committed results pass the lint.
  const options = (await resolveConfig(file)) ?? {};
  const withRevision = { ...results, revision: revisionAtStart };
  fs.writeFileSync(file, await format(JSON.stringify(withRevision), { ...options, parser: 'json' }));
  return file;
}

export const round = (value: number, digits = 2) => Number(value.toFixed(digits));

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
