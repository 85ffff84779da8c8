/**
 * `npm run bench:starts`: how many engagements per second the API starts, against raw `client.workflow.start` of a
 * no-op workflow on the same dev server, in the same run, at the same concurrency (the issue's baseline), and
 * against a raw start of the same lifecycle workflow with the input the API would send (what the API itself adds).
 * The engagements exist before the clock starts: what is timed is the start request alone (authentication,
 * validation, the database reads and writes of the start, the workflow start), POST /engagements/:id/lifecycle and
 * POST /engagements/:id/transition.
 *
 * A fifth kind puts the same raw no-op start behind a bare Express route in this process, called with the same
 * HTTP client: the rate HTTP alone leaves, the ceiling for any API in front of the start.
 *
 * Two phases: first with the worker process running (each start's first workflow tasks run while the next starts
 * arrive, as in production), then with it stopped (the start path alone). Rounds alternate the kinds so a
 * noisy neighbour hurts each about as much; a ratio is the median of its rounds' ratios. Without the worker, each
 * pass waits for the servers to go quiet first (`settled`): the Temporal server drains its queues for a while after
 * answering, and the pass after the fastest kind would pay for it. CPU time is counted per
 * process and kind of start: on two cores, throughput follows the CPU one start costs. With the worker running, a
 * kind that starts faster than the worker keeps up leaves part of its workflows' first tasks to the passes after
 * it (docs/performance.md, section 2): the start path alone is the clean comparison.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { issueApiKey } from '../src/auth/api-keys';
import { anEngagement, aVendor } from '../test/builders/engagement';
import { startTestApi } from '../test/helpers/app';
import { startTransitionBody } from '../src/api/schemas';
import { planFromBody } from '../src/api/transition';
import { lifecycleWorkflowId } from '../src/domain/lifecycle';
import { WorkflowIdConflictPolicy } from '@temporalio/client';
import { lifecycleInput } from '../src/api/engagements';
import { onCleanup, runBenchmark } from './lib/cleanup';
import { countedPrisma } from './lib/counted-prisma';
import { cpuBetween, cpuSnapshot, settled } from './lib/cpu';
import { jsonClient } from './lib/http-client';
import { closedLoop, median, type PassResult } from './lib/load';
import { machine, printTable, round, writeResults, type Row } from './lib/report';
import { connectClient, startDevServer, startPostgres } from './lib/servers';
import { startWorkerProcess } from './lib/worker-process';

const TASK_QUEUE = 'bench-starts';
const NOOP_TASK_QUEUE = 'bench-starts-noop';
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = 5;
const PER_PASS = 400;
const WARM_UP = 20;
const GOAL_RATIO = 0.7;
const KINDS = ['raw', 'bareHttp', 'rawLifecycle', 'lifecycle', 'transition'] as const;
/** Round r runs the kinds rotated by r: over five rounds each kind runs once in each position. */
const ORDERS: Kind[][] = KINDS.map((_, r) => [...KINDS.slice(r), ...KINDS.slice(0, r)]);

type Kind = (typeof KINDS)[number];
type ApiKind = 'lifecycle' | 'transition';
/** Kinds whose engagements are created beforehand. */
type EngagementKind = Exclude<Kind, 'raw' | 'bareHttp'>;

interface Phase {
  ratios: Record<ApiKind, number>;
  /** POST /engagements/:id/lifecycle ÷ a raw start of the same workflow with the same input. */
  sameWorkflowRatio: number;
  /**
   * A bare Express route whose only work is the raw no-op start ÷ the raw start: what HTTP alone (the same HTTP
   * client, no auth, validation or SQL) leaves of the raw rate, the ceiling of any API in front of the start.
   */
  bareHttpRatio: number;
  totals: Record<Kind, { perSecond: number; p50Ms: number; p99Ms: number }>;
  cpuMsPerStart: Record<Kind, Record<string, number>>;
  /** SQL statements the API sent per start, and their database time (the API's Prisma client counts them). */
  sqlPerStart: Record<ApiKind, { statements: number; ms: number }>;
  /**
   * Time spent after each pass (and before the first) waiting for the servers to go quiet (start path only): without
   * a worker, the Temporal server still drains its own queues after answering a pass's starts, which would otherwise
   * be paid by the pass after it, always the same kind in the rotation.
   */
  settleMs: number;
  /** CPU spent while waiting after a kind's passes (start path only): the work they left behind, not timed. */
  tailCpuMsPerStart: Record<Kind, Record<string, number>>;
  rounds: Array<Record<Kind, PassResult>>;
}

runBenchmark('bench:starts', async () => {
  const databaseUrl = await startPostgres();
  const address = await startDevServer();
  const { prisma, sql } = countedPrisma(databaseUrl);
  onCleanup('disconnect Prisma', () => prisma.$disconnect());
  const client = await connectClient(address);
  // One worker process runs the product's workflows and the no-op alike.
  const worker = await startWorkerProcess({
    databaseUrl,
    temporalAddress: address,
    taskQueue: TASK_QUEUE,
    noopTaskQueue: NOOP_TASK_QUEUE,
  });
  const api = await startTestApi({ prisma, temporal: client, taskQueue: TASK_QUEUE });
  onCleanup('stop the API', () => api.close());
  const pm = await api.as('PROGRAM_MANAGER');

  // Engagements created beforehand (not timed), a year ahead so a started lifecycle waits for its term.
  const perKind = 2 * (WARM_UP + ROUNDS * PER_PASS);
  const vendor = await pm('POST', '/vendors', aVendor());
  const nextYear = new Date().getUTCFullYear() + 1;
  const engagements: Record<EngagementKind, string[]> = { rawLifecycle: [], lifecycle: [], transition: [] };
  const engagementKinds: EngagementKind[] = ['rawLifecycle', 'lifecycle', 'transition'];
  await closedLoop(perKind * engagementKinds.length, 8, async (i) => {
    const { status, body } = await pm(
      'POST',
      '/engagements',
      anEngagement(vendor.body.id, {
        name: `Engagement ${i}`,
        termStart: `${nextYear}-01-01`,
        termEnd: `${nextYear + 2}-12-31`,
      }),
    );
    if (status !== 201) throw new Error(`engagement not created: ${JSON.stringify(body)}`);
    engagements[engagementKinds[i % engagementKinds.length]].push(body.id);
  });
  // The input the API would send for each of them (read and built beforehand, not timed): the lifecycle's facts
  // and the default transition plan a bodyless start stores.
  const defaultPlan = planFromBody(startTransitionBody.parse({}));
  const rawInputs = await Promise.all(
    engagements.rawLifecycle.map(async (id) =>
      lifecycleInput(await prisma.engagement.findUniqueOrThrow({ where: { id } }), defaultPlan),
    ),
  );

  // The ceiling of an HTTP API in front of the start: a bare Express route in this process (as the API is) that only
  // makes the raw no-op start, called with the same HTTP client and headers as the API's routes.
  const used = { lifecycle: 0, transition: 0, raw: 0, rawLifecycle: 0, bare: 0 };
  const bare = express();
  bare.post('/start', async (_req, res) => {
    const handle = await client.workflow.start('noop', {
      taskQueue: NOOP_TASK_QUEUE,
      workflowId: `bare-${used.bare++}`,
    });
    res.status(202).json({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId });
  });
  const bareServer: Server = await new Promise((resolve) => {
    const server = bare.listen(0, '127.0.0.1', () => resolve(server));
  });
  onCleanup('stop the bare route', () => new Promise((resolve) => bareServer.close(resolve)));
  const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`;

  // The timed requests, to the API and to the bare route alike, go through one light client (bench/lib/http-client).
  const { key } = await issueApiKey(prisma, { name: 'bench-starts', role: 'PROGRAM_MANAGER' });
  const headers = { authorization: `Bearer ${key}` };
  const timedApi = jsonClient(api.url, headers, CONCURRENCY);
  const timedBare = jsonClient(bareUrl, headers, CONCURRENCY);

  const start: Record<Kind, () => Promise<void>> = {
    raw: async () => {
      await client.workflow.start('noop', { taskQueue: NOOP_TASK_QUEUE, workflowId: `noop-${used.raw++}` });
    },
    // The start call the API makes (startOnce), without the API: no HTTP, auth, validation or SQL.
    rawLifecycle: async () => {
      const input = rawInputs[used.rawLifecycle++];
      await client.workflow.start('engagementLifecycle', {
        taskQueue: TASK_QUEUE,
        workflowId: lifecycleWorkflowId(input.engagementId),
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        args: [input],
      });
    },
    bareHttp: () => expectAccepted(timedBare('POST', '/start', {})),
    lifecycle: () =>
      expectAccepted(timedApi('POST', `/engagements/${engagements.lifecycle[used.lifecycle++]}/lifecycle`, {})),
    transition: () =>
      expectAccepted(timedApi('POST', `/engagements/${engagements.transition[used.transition++]}/transition`, {})),
  };

  const measurePhase = async (settle: boolean): Promise<Phase> => {
    for (const kind of KINDS) await closedLoop(WARM_UP, CONCURRENCY, start[kind]);
    const rounds: Array<Record<Kind, PassResult>> = [];
    const cpu = Object.fromEntries(KINDS.map((kind) => [kind, {}])) as Record<Kind, Record<string, number>>;
    const sqlOf = { lifecycle: { statements: 0, ms: 0 }, transition: { statements: 0, ms: 0 } };
    let settleMs = 0;
    const tail = Object.fromEntries(KINDS.map((kind) => [kind, {}])) as Record<Kind, Record<string, number>>;
    if (settle) settleMs += (await settled()).waitedMs;
    for (let r = 0; r < ROUNDS; r++) {
      const pass = {} as Record<Kind, PassResult>;
      for (const kind of ORDERS[r % ORDERS.length]) {
        const before = cpuSnapshot();
        const sqlBefore = { ...sql };
        pass[kind] = await closedLoop(PER_PASS, CONCURRENCY, start[kind]);
        const after = cpuSnapshot();
        if (kind === 'lifecycle' || kind === 'transition') {
          sqlOf[kind].statements += sql.statements - sqlBefore.statements;
          sqlOf[kind].ms += sql.ms - sqlBefore.ms;
        }
        for (const [command, seconds] of Object.entries(cpuBetween(before, after)))
          cpu[kind][command] = (cpu[kind][command] ?? 0) + seconds;
        if (settle) {
          // What the pass left behind, paid before the next one and counted apart.
          const { waitedMs, cpu: left } = await settled();
          settleMs += waitedMs;
          for (const [command, seconds] of Object.entries(left))
            tail[kind][command] = (tail[kind][command] ?? 0) + seconds;
        }
      }
      rounds.push(pass);
    }
    const ratio = (kind: ApiKind) => round(median(rounds.map((r) => r[kind].perSecond / r.raw.perSecond)));
    const total = (kind: Kind) => ({
      perSecond: round((ROUNDS * PER_PASS * 1000) / rounds.reduce((sum, r) => sum + r[kind].elapsedMs, 0), 1),
      p50Ms: round(median(rounds.map((r) => r[kind].p50Ms)), 1),
      p99Ms: round(median(rounds.map((r) => r[kind].p99Ms)), 1),
    });
    const perStart = (kind: Kind, spent = cpu) =>
      Object.fromEntries(
        Object.entries(spent[kind])
          .map(([command, seconds]) => [
            processName[command] ?? command,
            round((seconds * 1000) / (ROUNDS * PER_PASS), 1),
          ])
          .filter(([, ms]) => Number(ms) >= 0.1),
      );
    return {
      ratios: { lifecycle: ratio('lifecycle'), transition: ratio('transition') },
      sameWorkflowRatio: round(median(rounds.map((r) => r.lifecycle.perSecond / r.rawLifecycle.perSecond))),
      bareHttpRatio: round(median(rounds.map((r) => r.bareHttp.perSecond / r.raw.perSecond))),
      totals: Object.fromEntries(KINDS.map((kind) => [kind, total(kind)])) as Phase['totals'],
      cpuMsPerStart: Object.fromEntries(KINDS.map((kind) => [kind, perStart(kind)])) as Phase['cpuMsPerStart'],
      tailCpuMsPerStart: Object.fromEntries(
        KINDS.map((kind) => [kind, perStart(kind, tail)]),
      ) as Phase['tailCpuMsPerStart'],
      sqlPerStart: {
        lifecycle: {
          statements: round(sqlOf.lifecycle.statements / (ROUNDS * PER_PASS), 1),
          ms: round(sqlOf.lifecycle.ms / (ROUNDS * PER_PASS), 1),
        },
        transition: {
          statements: round(sqlOf.transition.statements / (ROUNDS * PER_PASS), 1),
          ms: round(sqlOf.transition.ms / (ROUNDS * PER_PASS), 1),
        },
      },
      settleMs,
      rounds,
    };
  };

  const withWorker = await measurePhase(false);
  await worker.stop();
  const startPathOnly = await measurePhase(true);

  const rows: Row[] = [];
  for (const [title, phase] of [
    ['worker running', withWorker],
    ['start path only, no worker', startPathOnly],
  ] as const) {
    rows.push(
      ...(['lifecycle', 'transition'] as const).map((kind) => ({
        metric: `${title}: ratio ${label[kind]} ÷ raw start`,
        value: String(phase.ratios[kind]),
        goal: `≥ ${GOAL_RATIO}`,
        met: phase.ratios[kind] >= GOAL_RATIO,
      })),
      {
        metric: `${title}: ratio ${label.lifecycle} ÷ ${label.rawLifecycle} (what the API adds)`,
        value: String(phase.sameWorkflowRatio),
      },
      {
        metric: `${title}: ratio ${label.bareHttp} ÷ raw start (the ceiling of an HTTP API)`,
        value: String(phase.bareHttpRatio),
      },
    );
  }
  for (const [title, phase] of [
    ['worker running', withWorker],
    ['start path only', startPathOnly],
  ] as const) {
    for (const kind of KINDS) {
      const t = phase.totals[kind];
      rows.push({
        metric: `${title}: ${label[kind]}`,
        value: `${t.perSecond}/s, p50 ${t.p50Ms} ms, p99 ${t.p99Ms} ms`,
      });
    }
    for (const kind of ['lifecycle', 'transition'] as const) {
      rows.push({
        metric: `${title}: SQL statements per start, ${kind} (database time)`,
        value: `${phase.sqlPerStart[kind].statements} (${phase.sqlPerStart[kind].ms} ms)`,
      });
    }
    for (const kind of KINDS) {
      rows.push({
        metric: `${title}: CPU ms per start, ${kind}`,
        value: cpuText(phase.cpuMsPerStart[kind]),
      });
    }
    if (phase.settleMs) {
      rows.push({
        metric: `${title}: waited for the servers to go quiet`,
        value: `${round(phase.settleMs / 1000, 1)} s`,
      });
      for (const kind of KINDS) {
        rows.push({
          metric: `${title}: CPU ms per start left behind (not timed), ${kind}`,
          value: cpuText(phase.tailCpuMsPerStart[kind]),
        });
      }
    }
  }
  printTable(
    `Start throughput (engagement already created; the start request alone), concurrency ${CONCURRENCY}, ` +
      `${ROUNDS} rounds of ${PER_PASS} per kind and phase`,
    rows,
  );
  const file = await writeResults('starts', {
    benchmark: 'starts',
    description:
      'Starts per second through the API (engagement already created; the start request alone) against raw ' +
      'client.workflow.start of a no-op workflow, and against a raw start of the same lifecycle workflow with the ' +
      'same input; same dev server, same run, same concurrency',
    ranAt: new Date().toISOString(),
    machine: machine(),
    settings: { concurrency: CONCURRENCY, rounds: ROUNDS, perPass: PER_PASS, warmUp: WARM_UP },
    goals: {
      ratioAtLeast: GOAL_RATIO,
      workerRunning: {
        lifecycleMet: withWorker.ratios.lifecycle >= GOAL_RATIO,
        transitionMet: withWorker.ratios.transition >= GOAL_RATIO,
      },
      startPathOnly: {
        lifecycleMet: startPathOnly.ratios.lifecycle >= GOAL_RATIO,
        transitionMet: startPathOnly.ratios.transition >= GOAL_RATIO,
      },
    },
    workerRunning: withWorker,
    startPathOnly,
  });
  console.log(`results: ${file}`);
});

const processName: Record<string, string> = {
  'bench (node)': 'API+client',
  node: 'worker',
  temporal: 'Temporal',
};

/** CPU milliseconds per start by process, as a table cell: "Temporal 3.4, API+client 0.5". */
function cpuText(msByProcess: Record<string, number>): string {
  return Object.entries(msByProcess)
    .map(([command, ms]) => `${command} ${ms}`)
    .join(', ');
}

const label: Record<Kind, string> = {
  raw: 'raw client.workflow.start (no-op)',
  bareHttp: 'bare Express route making that start',
  rawLifecycle: 'raw client.workflow.start (lifecycle, same input)',
  lifecycle: 'POST /engagements/:id/lifecycle',
  transition: 'POST /engagements/:id/transition',
};

async function expectAccepted(response: Promise<{ status: number; body: unknown }>): Promise<void> {
  const { status, body } = await response;
  if (status !== 202) throw new Error(`start answered ${status}: ${JSON.stringify(body)}`);
}
