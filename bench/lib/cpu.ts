import fs from 'node:fs';

/**
 * CPU time of this process and every process it started (PostgreSQL, the Temporal servers, worker processes), by
 * command name, from /proc. Two snapshots around a measurement say which part of the stack spent the CPU: on a
 * 2-core machine that is where a bottleneck shows first.
 */
export type CpuSnapshot = Map<number, { command: string; seconds: number }>;

const TICKS_PER_SECOND = 100;

function stat(pid: number): { ppid: number; command: string; seconds: number } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const command = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // Fields after the command: state(0) ppid(1) … utime(11) stime(12).
    return { ppid: Number(fields[1]), command, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

export function cpuSnapshot(): CpuSnapshot {
  const all = new Map<number, { ppid: number; command: string; seconds: number }>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s) all.set(Number(name), s);
  }
  const ours = new Set<number>([process.pid]);
  // Parents come before children only by chance in /proc: repeat until no new descendant is found.
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, s] of all) {
      if (!ours.has(pid) && ours.has(s.ppid)) {
        ours.add(pid);
        grew = true;
      }
    }
  }
  const snapshot: CpuSnapshot = new Map();
  for (const pid of ours) {
    const s = all.get(pid);
    if (s) snapshot.set(pid, { command: pid === process.pid ? 'bench (node)' : s.command, seconds: s.seconds });
  }
  return snapshot;
}

/**
 * CPU seconds spent between two snapshots, by command (or by the name given to a pid), largest first. Processes
 * gone by `after` are not counted.
 */
export function cpuBetween(
  before: CpuSnapshot,
  after: CpuSnapshot,
  names: Record<number, string> = {},
): Record<string, number> {
  const spent = new Map<string, number>();
  for (const [pid, s] of after) {
    const delta = s.seconds - (before.get(pid)?.seconds ?? 0);
    const name = names[pid] ?? s.command;
    spent.set(name, (spent.get(name) ?? 0) + delta);
  }
  return Object.fromEntries(
    [...spent]
      .filter(([, seconds]) => seconds > 0)
      .sort(([, a], [, b]) => b - a)
      .map(([command, seconds]) => [command, Number(seconds.toFixed(2))]),
  );
}

/**
 * Waits until the processes this one started are quiet, their CPU under `busyShare` of one core over a window of
 * `windowMs`, so that a measurement does not pay for the work a previous one left behind (the Temporal server's own
 * queues drain after the starts it answered; a worker runs the workflows they started). Gives up after `limitMs`.
 * Returns how long it waited and the CPU the processes spent meanwhile (this one's included), by command.
 */
export async function settled({ windowMs = 200, busyShare = 0.1, limitMs = 60_000 } = {}): Promise<{
  waitedMs: number;
  cpu: Record<string, number>;
}> {
  const started = performance.now();
  const first = cpuSnapshot();
  for (;;) {
    const before = cpuSnapshot();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = cpuSnapshot();
    const busy = Object.entries(cpuBetween(before, after))
      .filter(([command]) => command !== 'bench (node)')
      .reduce((sum, [, seconds]) => sum + seconds, 0);
    const waitedMs = Math.round(performance.now() - started);
    if (busy * 1000 <= busyShare * windowMs || waitedMs >= limitMs) return { waitedMs, cpu: cpuBetween(first, after) };
  }
}
