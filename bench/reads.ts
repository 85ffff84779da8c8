/**
 * `npm run bench:reads`: latency and throughput of the API's reads with the demo portfolio scaled to 1,000
 * engagements (loadDemoPortfolio), against a bare Express JSON route in the same server process and run. The API
 * runs in a process of its own; the load generators drive it from this one. Targets:
 *   - GET /engagements/:id of engagements with a running lifecycle (the live state comes from a workflow query,
 *     answered by a worker process), and of engagements without one (Temporal answers "not found");
 *   - GET /portfolio (the default first page: every engagement is computed, 50 rows are returned).
 * A fixed-rate pass at 200 requests per second gives p50/p99 at that rate: an open-model generator
 * (bench/lib/open-loop.ts: one request every 5 ms whatever the server does, latency counted from the request's
 * due time, as wrk2 does); autocannon's `overallRate` would send each connection's share of a second back to back
 * at the start of the second. A max-throughput pass (autocannon, 10 connections flat out) gives requests per
 * second, as a ratio to the bare route's (measured before and after the others, averaged). The API runs with its
 * default read cache (API_READ_CACHE_MS, 1 s; `API_READ_CACHE_MS=5000 npm run bench:reads` measures another
 * period), and each engagement target cycles through 100 engagements, so every engagement is read twice a second at
 * 200 req/s. Last, what the routes' cache refreshes are made of (the portfolio snapshot, the engagement query, the
 * Temporal query, and the describe that stands in for it while a workflow has not moved) is timed one block at a
 * time (CPU per call).
 */
import autocannon from 'autocannon';
import { engagementDetail } from '../src/api/engagements';
import { portfolioRows } from '../src/api/portfolio';
import { loadConfig } from '../src/config';
import { issueApiKey } from '../src/auth/api-keys';
import { createPrisma } from '../src/db';
import { lifecycleWorkflowId } from '../src/domain/lifecycle';
import { renewalMilestones } from '../src/domain/renewal';
import { loadDemoPortfolio } from '../src/seed/load';
import { lifecycleStateQuery } from '../workflows/lifecycle.messages';
import { startApiProcess } from './lib/api-process';
import { onCleanup, runBenchmark } from './lib/cleanup';
import { cpuBetween, cpuSnapshot } from './lib/cpu';
import { closedLoop } from './lib/load';
import { openLoop, type OpenLoopResult } from './lib/open-loop';
import { machine, printTable, round, writeResults, type Row } from './lib/report';
import { connectClient, startDevServer, startPostgres } from './lib/servers';
import { startWorkerProcess } from './lib/worker-process';

const ENGAGEMENTS = 1000;
const SAMPLE = 100;
const RATE = 200;
const CONNECTIONS = 10;
const FIXED_SECONDS = 10;
const MAX_SECONDS = 10;
const WARM_UP_SECONDS = 3;
const TASK_QUEUE = 'bench-reads';
const GOAL_P99_MS = 25;
const GOAL_RATIO = 0.5;
const DAY_MS = 86_400_000;
/** The API's configuration in this run: the product's defaults, with API_READ_CACHE_MS if it is set. */
const config = loadConfig({ API_READ_CACHE_MS: process.env.API_READ_CACHE_MS });
const READ_CACHE_MS = config.readCacheMs;

type TargetName = 'bare' | 'engagementLive' | 'engagementNoWorkflow' | 'portfolio';
interface Target {
  name: TargetName;
  label: string;
  url: string;
  paths?: string[];
}
/** A pass of either generator, in the open-loop generator's terms. */
type Pass = OpenLoopResult;

runBenchmark('bench:reads', async () => {
  const setupStarted = Date.now();
  const databaseUrl = await startPostgres();
  const address = await startDevServer();
  const prisma = createPrisma(databaseUrl);
  onCleanup('disconnect Prisma', () => prisma.$disconnect());
  const client = await connectClient(address);

  const seeded = await loadDemoPortfolio(prisma, { engagements: ENGAGEMENTS });
  const worker = await startWorkerProcess({ databaseUrl, temporalAddress: address, taskQueue: TASK_QUEUE });
  const server = await startApiProcess({ databaseUrl, temporalAddress: address, taskQueue: TASK_QUEUE });
  const origin = new URL(server.apiUrl).origin;
  const { key: viewerKey } = await issueApiKey(prisma, { name: 'bench-viewer', role: 'VIEWER' });
  const { key: pmKey } = await issueApiKey(prisma, { name: 'bench-pm', role: 'PROGRAM_MANAGER' });

  // Live sample: steady-state engagements whose renewal evaluation is more than a month away, so their lifecycles
  // start governance and then wait, quietly, while they are read.
  const all = await prisma.engagement.findMany({
    select: { id: true, stage: true, termEnd: true, renewalNoticeDays: true },
    orderBy: { id: 'asc' },
  });
  const evaluationAt = (e: (typeof all)[number]) =>
    Date.parse(renewalMilestones(e.termEnd.toISOString(), e.renewalNoticeDays).evaluationAt);
  const live = all
    .filter((e) => e.stage === 'STEADY_STATE' && evaluationAt(e) > Date.now() + 30 * DAY_MS)
    .slice(0, SAMPLE)
    .map((e) => e.id);
  const liveSet = new Set(live);
  const withoutWorkflow = all
    .filter((e) => !liveSet.has(e.id))
    .filter((_, i) => i % 9 === 0)
    .slice(0, SAMPLE)
    .map((e) => e.id);
  if (live.length < SAMPLE || withoutWorkflow.length < SAMPLE) throw new Error('the seed has too few engagements');
  await closedLoop(live.length, 8, async (i) => {
    const res = await fetch(`${origin}/engagements/${live[i]}/lifecycle`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pmKey}`, 'content-type': 'application/json' },
      body: '{}',
    });
    if (res.status !== 202) throw new Error(`lifecycle not started: ${res.status} ${await res.text()}`);
  });
  for (const id of live) {
    const handle = client.workflow.getHandle(lifecycleWorkflowId(id));
    for (let tries = 0; (await handle.query(lifecycleStateQuery)).stage !== 'STEADY_STATE'; tries++) {
      if (tries > 100) throw new Error(`lifecycle of ${id} did not settle`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const setupMs = Date.now() - setupStarted;

  const targets: Target[] = [
    { name: 'bare', label: 'bare Express JSON route', url: server.bareUrl },
    {
      name: 'engagementLive',
      label: 'GET /engagements/:id, running lifecycle',
      url: origin,
      paths: live.map((id) => `/engagements/${id}`),
    },
    {
      name: 'engagementNoWorkflow',
      label: 'GET /engagements/:id, no workflow',
      url: origin,
      paths: withoutWorkflow.map((id) => `/engagements/${id}`),
    },
    { name: 'portfolio', label: 'GET /portfolio (first page of 50)', url: `${origin}/portfolio` },
  ];
  const names = { [server.pid]: 'API', [worker.pid]: 'worker', [process.pid]: 'autocannon' };
  const run = async (target: Target, seconds: number, rate?: number): Promise<Pass> => {
    const headers = { authorization: `Bearer ${viewerKey}` };
    if (rate) return openLoop({ url: target.url, paths: target.paths, headers, rate, seconds });
    let next = 0;
    const result = await autocannon({
      url: target.url,
      connections: CONNECTIONS,
      duration: seconds,
      headers,
      ...(target.paths && {
        requests: [
          { method: 'GET', setupRequest: (req) => ({ ...req, path: target.paths![next++ % target.paths!.length] }) },
        ],
      }),
    });
    return {
      requestsPerSecond: round(result['2xx'] / result.duration, 1),
      p50Ms: result.latency.p50,
      p90Ms: result.latency.p90,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
      requests: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors,
    };
  };

  // Every pass follows a warm-up of its own traffic: the API's read cache is then as warm as that traffic keeps it,
  // not as cold as the other targets' passes left it (its entries are gone after twice API_READ_CACHE_MS).
  const fixed = {} as Record<TargetName, Pass>;
  for (const target of targets) {
    await run(target, WARM_UP_SECONDS, RATE);
    fixed[target.name] = await run(target, FIXED_SECONDS, RATE);
  }
  const max = {} as Record<TargetName, Pass>;
  const cpuMsPerRequest = {} as Record<TargetName, Record<string, number>>;
  const sqlPerRequest = {} as Record<TargetName, { statements: number; ms: number }>;
  const measureMax = async (target: Target) => {
    await run(target, WARM_UP_SECONDS);
    const before = cpuSnapshot();
    const sqlBefore = await server.sql();
    const pass = await run(target, MAX_SECONDS);
    const spent = cpuBetween(before, cpuSnapshot(), names);
    const sqlAfter = await server.sql();
    sqlPerRequest[target.name] = {
      statements: round((sqlAfter.statements - sqlBefore.statements) / Math.max(1, pass.requests), 2),
      ms: round((sqlAfter.ms - sqlBefore.ms) / Math.max(1, pass.requests), 2),
    };
    cpuMsPerRequest[target.name] = Object.fromEntries(
      Object.entries(spent)
        .map(([name, seconds]) => [name, round((seconds * 1000) / Math.max(1, pass.requests), 2)] as const)
        .filter(([, ms]) => ms >= 0.01),
    );
    return pass;
  };
  const bareBefore = await measureMax(targets[0]);
  for (const target of targets.slice(1)) max[target.name] = await measureMax(target);
  const bareAfter = await measureMax(targets[0]);
  max.bare = {
    ...bareAfter,
    requestsPerSecond: round((bareBefore.requestsPerSecond + bareAfter.requestsPerSecond) / 2, 1),
  };

  // Three digits, so that a ratio just under the goal is not rounded up to it.
  const ratio = (name: TargetName) => round(max[name].requestsPerSecond / max.bare.requestsPerSecond, 3);
  const rows: Row[] = [];
  for (const target of targets.slice(1)) {
    rows.push({
      metric: `${target.label}: throughput ÷ bare route`,
      value: String(ratio(target.name)),
      goal: `≥ ${GOAL_RATIO}`,
      met: ratio(target.name) >= GOAL_RATIO,
    });
    rows.push({
      metric: `${target.label}: p99 at ${RATE} req/s`,
      value: `${fixed[target.name].p99Ms} ms`,
      goal: `< ${GOAL_P99_MS} ms`,
      met: fixed[target.name].p99Ms < GOAL_P99_MS,
    });
  }
  for (const target of targets) {
    const f = fixed[target.name];
    const m = max[target.name];
    rows.push({
      metric: `${target.label}: at ${RATE} req/s (achieved) p50 / p99; max req/s`,
      value: `(${f.requestsPerSecond}/s) ${f.p50Ms} / ${f.p99Ms} ms; ${m.requestsPerSecond}/s`,
    });
  }
  for (const target of targets.slice(1)) {
    rows.push({
      metric: `${target.label}: SQL statements per request (database time)`,
      value: `${sqlPerRequest[target.name].statements} (${sqlPerRequest[target.name].ms} ms)`,
    });
  }
  for (const target of targets) {
    rows.push({
      metric: `${target.label}: CPU ms per request at max`,
      value: Object.entries(cpuMsPerRequest[target.name])
        .map(([name, ms]) => `${name} ${ms}`)
        .join(', '),
    });
  }
  // What one GET /engagements/:id is made of, each building block called 300 times in a row from this process:
  // CPU of this process per call (client side: Prisma and pg, or the gRPC client); wall time per call.
  const describe = (workflowId: string) =>
    client.workflowService.describeWorkflowExecution({
      namespace: client.options.namespace,
      execution: { workflowId },
    });
  const blocks = {
    // What a GET /portfolio refresh does on the API's thread once a second: every engagement's facts, mapped to rows.
    'portfolio snapshot, 1,000 engagements (portfolioFacts and toRow)': () =>
      portfolioRows(prisma, config, undefined, Date.now()),
    'engagement with engagementDetail, the route’s query': (i: number) =>
      prisma.engagement.findFirst({ where: { id: withoutWorkflow[i % SAMPLE] }, include: engagementDetail }),
    'engagement row alone, for comparison': (i: number) =>
      prisma.engagement.findFirst({ where: { id: withoutWorkflow[i % SAMPLE] } }),
    'Temporal query, no workflow (not found)': (i: number) =>
      client.workflow
        .getHandle(lifecycleWorkflowId(withoutWorkflow[i % SAMPLE]))
        .query(lifecycleStateQuery)
        .catch(() => null),
    'Temporal query, running lifecycle': (i: number) =>
      client.workflow.getHandle(lifecycleWorkflowId(live[i % SAMPLE])).query(lifecycleStateQuery),
    // What a refresh of an unchanged engagement asks instead of the query (liveStateSince).
    'Temporal describe, no workflow (not found)': (i: number) =>
      describe(lifecycleWorkflowId(withoutWorkflow[i % SAMPLE])).catch(() => null),
    'Temporal describe, running lifecycle': (i: number) => describe(lifecycleWorkflowId(live[i % SAMPLE])),
  };
  const buildingBlocks: Record<string, { cpuMs: number; wallMs: number }> = {};
  for (const [name, call] of Object.entries(blocks)) {
    for (let i = 0; i < 50; i++) await call(i);
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < 300; i++) await call(i);
    const used = process.cpuUsage(cpu);
    buildingBlocks[name] = {
      cpuMs: round((used.user + used.system) / 1000 / 300, 2),
      wallMs: round((performance.now() - started) / 300, 2),
    };
  }
  for (const [name, b] of Object.entries(buildingBlocks))
    rows.push({ metric: `building block: ${name}, CPU / wall ms per call`, value: `${b.cpuMs} / ${b.wallMs}` });

  const failures = targets.flatMap((t) =>
    [fixed[t.name], max[t.name]]
      .filter((p) => p.non2xx || p.errors)
      .map(
        (p) =>
          `${t.name}: ${p.non2xx} non-2xx, ${p.errors} errors` +
          (p.errorMessages ? ` (${p.errorMessages.join('; ')})` : ''),
      ),
  );
  rows.push({ metric: 'non-2xx responses or errors', value: failures.length ? failures.join('; ') : 'none' });
  printTable(
    `Read latency: ${ENGAGEMENTS} seeded engagements, ${CONNECTIONS} connections, ${FIXED_SECONDS} s at ${RATE} req/s and ${MAX_SECONDS} s flat out per target, API_READ_CACHE_MS=${READ_CACHE_MS}`,
    rows,
  );
  // A run with another cache period than the product's default keeps its results beside the default's.
  const resultsName = process.env.API_READ_CACHE_MS ? `reads-cache-${READ_CACHE_MS}ms` : 'reads';
  const file = await writeResults(resultsName, {
    benchmark: 'reads',
    description: `GET /engagements/:id and GET /portfolio with ${ENGAGEMENTS} seeded engagements against a bare Express JSON route in the same process`,
    ranAt: new Date().toISOString(),
    machine: machine(),
    settings: {
      engagements: ENGAGEMENTS,
      sampledEngagements: SAMPLE,
      connections: CONNECTIONS,
      fixedRatePerSecond: RATE,
      fixedSeconds: FIXED_SECONDS,
      maxSeconds: MAX_SECONDS,
      warmUpSeconds: WARM_UP_SECONDS,
      readCacheMs: READ_CACHE_MS,
    },
    goals: {
      p99UnderMsAtFixedRate: GOAL_P99_MS,
      throughputRatioAtLeast: GOAL_RATIO,
      met: Object.fromEntries(
        targets
          .slice(1)
          .map((t) => [t.name, { p99: fixed[t.name].p99Ms < GOAL_P99_MS, ratio: ratio(t.name) >= GOAL_RATIO }]),
      ),
    },
    ratios: Object.fromEntries(targets.slice(1).map((t) => [t.name, ratio(t.name)])),
    fixedRate: fixed,
    maxThroughput: { ...max, bareBefore, bareAfter },
    cpuMsPerRequestAtMax: cpuMsPerRequest,
    buildingBlocks,
    sqlPerRequestAtMax: sqlPerRequest,
    seeded,
    setupMs,
  });
  console.log(`results: ${file}`);
});
