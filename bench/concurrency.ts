/**
 * `npm run bench:concurrency`: 1,000 engagements in transition at once on one worker process (the product's
 * createWorker, real activities, product defaults) against the dev server. The 1,000 transitions are started
 * through the API while no worker runs; then the worker starts and meets all of them at once: first workflow
 * tasks, stage and phase activities, a 5-second first wave whose gate is then judged from the KPI data, and the
 * second wave started. Measured: the worker's resident memory (sampled every 250 ms), the sticky cache hit rate,
 * task slots, pollers and schedule-to-start latencies from the worker's Prometheus metrics, how long until every
 * gate of the first wave has its evaluation row, and the CPU time each process spent on the burst (the cores it
 * kept busy say whether the machine, rather than a configured limit, set the pace).
 *
 * BENCH_VARIANT (JSON worker options over the product's, plus `poolMax` for the worker's pg pool) adds a second
 * burst in the same run, with its own 1,000 engagements, task queue and worker process, to test a bottleneck
 * hypothesis, e.g. '{"workflowTaskPollerBehavior":{"type":"autoscaling"},"poolMax":40}'. It runs second, on a dev
 * server already holding the first burst's workflows: the comparison leans against it.
 */
import type { Client } from '@temporalio/client';
import { createPrisma, type PrismaClient } from '../src/db';
import { anEngagement, aVendor } from '../test/builders/engagement';
import { startTestApi } from '../test/helpers/app';
import { freePort } from '../test/helpers/global-setup';
import { onCleanup, runBenchmark } from './lib/cleanup';
import { cpuBetween, cpuSnapshot } from './lib/cpu';
import { months, writeMeasurements } from './lib/kpi-data';
import { closedLoop } from './lib/load';
import { histogramMeanMs, histogramPercentileMs, names, scrape, sum, type Metrics } from './lib/prometheus';
import { machine, percentile, printTable, round, writeResults, type Row } from './lib/report';
import { connectClient, startDevServer, startPostgres } from './lib/servers';
import { startWorkerProcess } from './lib/worker-process';

const ENGAGEMENTS = 1000;
const WAVE_SECONDS = 5;
const PLAN = {
  phases: [
    { kind: 'PILOT', name: 'wave-1', volumePct: 10, minDuration: `${WAVE_SECONDS}s` },
    { kind: 'RAMP_WAVE', name: 'wave-2', volumePct: 100, minDuration: '1h' },
  ],
};
const MiB = 2 ** 20;

interface Variant {
  label: string;
  overrides?: Record<string, unknown>;
  poolMax?: number;
}

runBenchmark('bench:concurrency', async () => {
  const databaseUrl = await startPostgres();
  const address = await startDevServer();
  const prisma = createPrisma(databaseUrl);
  onCleanup('disconnect Prisma', () => prisma.$disconnect());
  const client = await connectClient(address);
  const context = { databaseUrl, address, prisma, client };

  const defaults = await burst(context, { label: 'product defaults' }, 'bench-concurrency-defaults');
  let candidate: Burst | null = null;
  if (process.env.BENCH_VARIANT) {
    const { poolMax, ...overrides } = JSON.parse(process.env.BENCH_VARIANT) as Record<string, unknown> & {
      poolMax?: number;
    };
    candidate = await burst(
      context,
      { label: `variant ${process.env.BENCH_VARIANT}`, overrides, poolMax },
      'bench-concurrency-variant',
    );
  }

  const ratio = candidate ? round(candidate.allGatesEvaluatedMs / defaults.allGatesEvaluatedMs) : null;
  const rows: Row[] = [
    ...describe(defaults),
    ...(candidate
      ? [
          { metric: 'variant ÷ defaults: time until every wave-1 gate is evaluated', value: String(ratio) },
          ...describe(candidate).map((row) => ({ ...row, metric: `variant: ${row.metric}` })),
        ]
      : []),
  ];
  printTable(
    `Concurrency: ${ENGAGEMENTS} transitions at once on one worker, product defaults${candidate ? `; then ${candidate.variant}` : ''}`,
    rows,
  );
  const file = await writeResults('concurrency', {
    benchmark: 'concurrency',
    description: `${ENGAGEMENTS} transitions waiting when one worker process starts (createWorker, real activities, product defaults, dev server)`,
    ranAt: new Date().toISOString(),
    machine: machine(),
    settings: { engagements: ENGAGEMENTS, waveSeconds: WAVE_SECONDS },
    results: defaults,
    ...(candidate && { variant: candidate, ratios: { allGatesEvaluatedVariantToDefaults: ratio } }),
  });
  console.log(`results: ${file}`);
});

type Context = { databaseUrl: string; address: string; prisma: PrismaClient; client: Client };
type Burst = Awaited<ReturnType<typeof burst>>;

async function burst(context: Context, variant: Variant, taskQueue: string) {
  const { prisma } = context;
  const api = await startTestApi({ prisma, temporal: context.client, taskQueue });
  const pm = await api.as('PROGRAM_MANAGER');

  // 1,000 engagements with this month's and next month's KPI data at target, each with its transition started
  // (no worker polls this task queue yet).
  const setupStarted = Date.now();
  const vendor = await pm('POST', '/vendors', aVendor());
  const vendorId: string = vendor.body.id;
  const year = new Date().getUTCFullYear();
  const ids: string[] = [];
  await closedLoop(ENGAGEMENTS, 8, async (i) => {
    const { status, body } = await pm(
      'POST',
      '/engagements',
      anEngagement(vendorId, { name: `Engagement ${i}`, termStart: `${year}-01-01`, termEnd: `${year + 3}-12-31` }),
    );
    if (status !== 201) throw new Error(`engagement not created: ${JSON.stringify(body)}`);
    ids.push(body.id);
  });
  await writeMeasurements(
    prisma,
    ids.flatMap((engagementId) =>
      months(Date.now(), 2).map((m) => ({ engagementId, ...m, values: { fcr: 80, aht: 300 } })),
    ),
  );
  await closedLoop(ENGAGEMENTS, 16, async (i) => {
    const { status, body } = await pm('POST', `/engagements/${ids[i]}/transition`, PLAN);
    if (status !== 202) throw new Error(`transition not started: ${JSON.stringify(body)}`);
  });
  await api.close();
  const setupMs = Date.now() - setupStarted;

  // The burst: the worker starts with 1,000 transitions waiting for it.
  const ofThisBurst = (sequence: number) => ({ sequence, plan: { engagement: { vendorId } } });
  const metricsPort = await freePort();
  const cpuBefore = cpuSnapshot();
  const workerStarting = Date.now();
  // CPU is counted from before the worker process starts (its bundling included) until after the burst.
  const worker = await startWorkerProcess({
    databaseUrl: context.databaseUrl,
    temporalAddress: context.address,
    taskQueue,
    metricsPort,
    workerOverrides: variant.overrides,
    poolMax: variant.poolMax,
  });
  const burstStarted = Date.now();
  const samples: Array<{
    at: number;
    slots: { workflow: number; activity: number };
    pollers: { workflow: number; stickyWorkflow: number; activity: number };
    phasesStarted: number;
    gatesEvaluated: number;
  }> = [];
  const timeoutAt = burstStarted + 15 * 60_000;
  for (;;) {
    const m: Metrics = await scrape(metricsPort);
    const [phasesStarted, gatesEvaluated] = await Promise.all([
      prisma.transitionPhase.count({ where: { ...ofThisBurst(1), startedAt: { not: null } } }),
      prisma.gateEvaluation.count({ where: { phase: ofThisBurst(1) } }),
    ]);
    samples.push({
      at: Date.now() - burstStarted,
      slots: {
        workflow: sum(m, 'temporal_worker_task_slots_available', 'worker_type="WorkflowWorker"'),
        activity: sum(m, 'temporal_worker_task_slots_available', 'worker_type="ActivityWorker"'),
      },
      pollers: {
        workflow: sum(m, 'temporal_num_pollers', 'poller_type="workflow_task"'),
        stickyWorkflow: sum(m, 'temporal_num_pollers', 'poller_type="sticky_workflow_task"'),
        activity: sum(m, 'temporal_num_pollers', 'poller_type="activity_task"'),
      },
      phasesStarted,
      gatesEvaluated,
    });
    if (gatesEvaluated >= ENGAGEMENTS) break;
    if (Date.now() > timeoutAt) throw new Error(`only ${gatesEvaluated} gates evaluated after 15 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const allGatesEvaluatedMs = Date.now() - burstStarted;
  // Each passed gate starts the second wave: let those finish before the last look at metrics and memory.
  while (
    (await prisma.transitionPhase.count({ where: { ...ofThisBurst(2), startedAt: { not: null } } })) < ENGAGEMENTS
  ) {
    if (Date.now() > timeoutAt) throw new Error('the second waves did not all start');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const secondWavesStartedMs = Date.now() - burstStarted;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const metrics = await scrape(metricsPort);
  const cpuSeconds = cpuBetween(cpuBefore, cpuSnapshot(), { [worker.pid]: 'worker' });
  const cpuWindowMs = Date.now() - workerStarting;
  await worker.stop();

  // Per gate: when it was due (phase start + 5 s) and when it was judged.
  const phases = await prisma.transitionPhase.findMany({
    where: ofThisBurst(1),
    select: { startedAt: true, gateEvaluations: { select: { evaluatedAt: true, passed: true } } },
  });
  const startedAt = phases.map((p) => p.startedAt!.getTime() - burstStarted).sort((a, b) => a - b);
  const lagMs = phases
    .map((p) => p.gateEvaluations[0].evaluatedAt.getTime() - (p.startedAt!.getTime() + WAVE_SECONDS * 1000))
    .sort((a, b) => a - b);
  const rss = worker.samples.filter((s) => s.at >= burstStarted);
  const workflowTasks = sum(metrics, 'temporal_workflow_task_execution_latency_count');
  const activityAttempts = sum(metrics, 'temporal_activity_execution_latency_count');
  const hits = sum(metrics, 'temporal_sticky_cache_hit');
  const misses = sum(metrics, 'temporal_sticky_cache_miss');
  const latency = (name: string) => ({
    meanMs: round(histogramMeanMs(metrics, name), 1),
    p99AtMostMs: histogramPercentileMs(metrics, name, 99),
  });
  const min = (f: (s: (typeof samples)[number]) => number) => Math.min(...samples.map(f));
  const max = (f: (s: (typeof samples)[number]) => number) => Math.max(...samples.map(f));
  const share = (f: (s: (typeof samples)[number]) => boolean) => round(samples.filter(f).length / samples.length);
  return {
    variant: variant.label,
    allGatesEvaluatedMs,
    secondWavesStartedMs,
    gateLagMs: { p50: percentile(lagMs, 50), p99: percentile(lagMs, 99), max: lagMs[lagMs.length - 1] },
    phaseStartedMs: { first: startedAt[0], p50: percentile(startedAt, 50), last: startedAt[startedAt.length - 1] },
    gatesPassed: phases.filter((p) => p.gateEvaluations[0].passed).length,
    rssMiB: {
      ready: round(worker.readyRss / MiB, 1),
      peak: round(Math.max(...rss.map((s) => s.rss)) / MiB, 1),
      end: round(rss[rss.length - 1].rss / MiB, 1),
    },
    stickyCache: names(metrics).includes('temporal_sticky_cache_hit')
      ? { hits, misses, hitRate: round(hits / Math.max(1, hits + misses), 4) }
      : null,
    slotsAvailable: {
      workflowMin: min((s) => s.slots.workflow),
      activityMin: min((s) => s.slots.activity),
      workflowExhaustedShare: share((s) => s.slots.workflow === 0),
      activityExhaustedShare: share((s) => s.slots.activity === 0),
    },
    pollersMax: {
      workflow: max((s) => s.pollers.workflow),
      stickyWorkflow: max((s) => s.pollers.stickyWorkflow),
      activity: max((s) => s.pollers.activity),
    },
    taskLatencies: {
      workflowTaskScheduleToStart: latency('temporal_workflow_task_schedule_to_start_latency'),
      workflowTaskExecution: latency('temporal_workflow_task_execution_latency'),
      activityScheduleToStart: latency('temporal_activity_schedule_to_start_latency'),
      activityExecution: latency('temporal_activity_execution_latency'),
    },
    workflowTasks,
    activities: activityAttempts,
    activityAttemptsFailed: sum(metrics, 'temporal_activity_execution_failed'),
    cpuSeconds,
    coresBusy: round(Object.values(cpuSeconds).reduce((a, b) => a + b, 0) / (cpuWindowMs / 1000)),
    cpuMsPerTask: {
      worker: round(((cpuSeconds.worker ?? 0) * 1000) / (workflowTasks + activityAttempts), 2),
      temporal: round(((cpuSeconds.temporal ?? 0) * 1000) / (workflowTasks + activityAttempts), 2),
    },
    workerStartMs: burstStarted - workerStarting,
    setupMs,
    progress: samples.filter((_, i) => i % 4 === 0),
    rssSamplesMiB: rss.filter((_, i) => i % 4 === 0).map((s) => [s.at - burstStarted, round(s.rss / MiB, 1)]),
  };
}

function describe(b: Burst): Row[] {
  const s = (ms: number) => `${round(ms / 1000, 1)} s`;
  const l = b.taskLatencies;
  return [
    { metric: 'time until every wave-1 gate has its evaluation row', value: s(b.allGatesEvaluatedMs) },
    {
      metric: 'gate lag behind due time (evaluatedAt − phase start − 5 s): p50 / p99 / max',
      value: `${s(b.gateLagMs.p50)} / ${s(b.gateLagMs.p99)} / ${s(b.gateLagMs.max)}`,
    },
    {
      metric: 'wave-1 phases started: first / median / last',
      value: `${s(b.phaseStartedMs.first)} / ${s(b.phaseStartedMs.p50)} / ${s(b.phaseStartedMs.last)}`,
    },
    { metric: 'every wave-2 phase started', value: s(b.secondWavesStartedMs) },
    { metric: 'gates passed', value: `${b.gatesPassed} of ${ENGAGEMENTS}` },
    {
      metric: 'sticky cache hit rate',
      value: b.stickyCache
        ? `${round(b.stickyCache.hitRate * 100, 1)} % (${b.stickyCache.hits} hits, ${b.stickyCache.misses} misses)`
        : 'not exported',
    },
    {
      metric: 'worker RSS: ready (before polling) / peak / end, MiB',
      value: `${Math.round(b.rssMiB.ready)} / ${Math.round(b.rssMiB.peak)} / ${Math.round(b.rssMiB.end)}`,
    },
    {
      metric: 'slots available, min: workflow / activity (share of samples at 0)',
      value: `${b.slotsAvailable.workflowMin} / ${b.slotsAvailable.activityMin} (${b.slotsAvailable.workflowExhaustedShare} / ${b.slotsAvailable.activityExhaustedShare})`,
    },
    {
      metric: 'pollers, max: workflow / sticky workflow / activity',
      value: `${b.pollersMax.workflow} / ${b.pollersMax.stickyWorkflow} / ${b.pollersMax.activity}`,
    },
    {
      metric: 'schedule-to-start mean: workflow task / activity',
      value: `${l.workflowTaskScheduleToStart.meanMs} / ${l.activityScheduleToStart.meanMs} ms`,
    },
    {
      metric: 'execution mean: workflow task / activity',
      value: `${l.workflowTaskExecution.meanMs} / ${l.activityExecution.meanMs} ms`,
    },
    {
      metric: 'workflow tasks / activity attempts (failed, retried)',
      value: `${b.workflowTasks} / ${b.activities} (${b.activityAttemptsFailed})`,
    },
    {
      metric: 'cores kept busy by these processes (CPU seconds ÷ wall seconds; the machine has 2)',
      value: String(b.coresBusy),
    },
    {
      metric: 'CPU ms per task (workflow task or activity attempt): worker / Temporal dev server',
      value: `${b.cpuMsPerTask.worker} / ${b.cpuMsPerTask.temporal}`,
    },
    {
      metric: 'CPU seconds by process',
      value: Object.entries(b.cpuSeconds)
        .map(([command, seconds]) => `${command} ${seconds}`)
        .join(', '),
    },
  ];
}
