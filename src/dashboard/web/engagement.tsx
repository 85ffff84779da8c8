import type { ChartDataset } from 'chart.js';
import { useMemo, useState } from 'preact/hooks';
import { allPages, api, type Me, type Page, type Severity } from './api';
import { TimeChart, type Point } from './charts';
import { date, dateTime, label, money, relative } from './format';
import { useNow, usePolled } from './hooks';
import { ColumnHeads, Problem, Section, StageBadge, WorkflowLink } from './parts';

// ── the API's shapes, as far as the page reads them ──

interface Sla {
  key: string;
  name: string;
  unit: string;
  direction: 'HIGHER_IS_BETTER' | 'LOWER_IS_BETTER';
  target: string;
  minimum: string;
}
interface Milestones {
  evaluationAt: string;
  councilEscalationAt: string;
  noticeDeadline: string;
  termEnd: string;
}
interface Engagement {
  id: string;
  name: string;
  clientOrganisation: string;
  stage: string;
  termStart: string;
  termEnd: string;
  monthlyFee: string;
  currency: string;
  vendor: { id: string; legalName: string; deliveryModel: string };
  slas: Sla[];
  escalationLevels: Array<{ level: number }>;
  lifecycle: {
    stage: string;
    term: number;
    milestones: Milestones;
    renewal?: {
      recommendation: string;
      reasons: string[];
      councilEscalated?: boolean;
      newTermOpensAt?: string;
      decision?: string;
      decidedBy?: string;
      via?: string;
      reason?: string;
      newMonthlyFee?: string;
    };
    exit?: { reason: string; exitAt: string };
  } | null;
  /** Why the live state could not be read (Temporal unreachable): a lifecycle may be running. */
  lifecycleUnavailable?: string;
  workflowUrl: string;
}
interface GateEvaluation {
  attempt: number;
  passed: boolean;
  score: string | null;
  evaluatedAt: string;
  overriddenBy: string | null;
  overrideReason: string | null;
  details: { reasons?: string[]; decision?: 'approved-early' | 'overridden'; note?: string | null };
}
interface Phase {
  sequence: number;
  kind: string;
  name: string;
  volumePct: number;
  status: string;
  startedAt: string | null;
  completedAt: string | null;
  gated: boolean;
  gateEvaluations: GateEvaluation[];
}
interface Transition {
  plan: { phases: Phase[]; gateThreshold: string } | null;
  volumeChanges: Array<{ fromPct: number; toPct: number; reason: string; occurredAt: string }>;
  live: {
    /** TERMINATED, FAILED or TIMED_OUT: the run ended while it ran (its last state otherwise). */
    status: 'RUNNING' | 'PAUSED' | 'COMPLETED' | 'CANCELLED' | 'TERMINATED' | 'FAILED' | 'TIMED_OUT';
    currentIndex: number;
    volumePct: number;
    nextGateAt: string | null;
    phases: Array<{ name: string; status: string; dueAt?: string }>;
  } | null;
  liveUnavailable?: string;
  workflowUrl: string;
}
interface Measurement {
  kpiKey: string;
  periodStart: string;
  periodEnd: string;
  value: string;
}
interface ScorecardKpi {
  key: string;
  name?: string;
  value: number | null;
  target: number;
  minimum: number;
  status: string;
  trend: number | null;
}
interface Review {
  id: string;
  cadence: string;
  periodStart: string;
  periodEnd: string;
  overallScore: string | null;
  creditsTotal: string;
  scorecard: { kpis?: ScorecardKpi[] };
  credits: Array<{ slaKey: string; amount: string; arithmetic: string }>;
}
interface Escalation {
  id: string;
  severity: Severity;
  category: string;
  title: string;
  status: 'OPEN' | 'ACKNOWLEDGED' | 'RESOLVED';
  currentLevel: number;
  raisedAt: string;
  assignee: string | null;
  requiresRootCause: boolean;
}
interface EscalationDetail extends Escalation {
  live: { level: number; nextClimbAt: string | null } | null;
  workflowUrl: string;
}
interface Evaluation {
  termEnd: string;
  scorecard: {
    attainmentPct?: number | null;
    recentScores?: number[];
    creditsPaid?: string;
    escalationsBySeverity?: Record<string, number>;
    medianHoursToResolve?: number | null;
    openActionItems?: number;
    certificationsExpiring?: string[];
  };
  recommendation: string;
  reasons: string[];
  decision: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
  decidedVia: string | null;
  decisionReason: string | null;
  newMonthlyFee: string | null;
}
interface ExitPlan {
  reason: string;
  forCause: boolean;
  startedAt: string;
  steps: Array<{
    kind: string;
    owner: string;
    dueOn: string;
    /** When it becomes overdue: the end of its due day in the engagement's zone. */
    dueAt: string;
    completedAt: string | null;
    completedBy: string | null;
    evidence: string | null;
    /** What completing the step must carry (the certificate of deletion), or null. */
    evidenceRequired: string | null;
  }>;
}
interface StageChange {
  fromStage: string | null;
  toStage: string;
  occurredAt: string;
}

interface View {
  engagement: Engagement;
  transition: Transition;
  governance: {
    live: { next: Array<{ cadence: string; dueAt: string }> } | null;
    status: string | null;
    workflowUrl: string;
  };
  measurements: Measurement[];
  reviews: Review[];
  escalations: EscalationDetail[];
  evaluations: Evaluation[];
  exitPlan: ExitPlan | null;
  stageChanges: StageChange[];
}

async function loadView(id: string): Promise<View> {
  const base = `/engagements/${id}`;
  const yearAgo = new Date(Date.now() - 400 * 86_400_000).toISOString().slice(0, 10);
  const [engagement, transition, governance, measurements, reviews, escalations, evaluations, exit, stages] =
    await Promise.all([
      api<Engagement>('GET', base),
      api<Transition>('GET', `${base}/transition`),
      api<View['governance']>('GET', `${base}/governance`),
      // Every page: the charts' latest figures are the last ones (oldest first, 200 a page).
      allPages<Measurement>(`${base}/kpi-measurements?from=${yearAgo}`),
      api<Page<Review>>('GET', `${base}/reviews?limit=12`),
      // Every escalation still to act on, however many were raised since, and the latest resolved ones.
      Promise.all([
        allPages<Escalation>(`${base}/escalations?status=OPEN`),
        allPages<Escalation>(`${base}/escalations?status=ACKNOWLEDGED`),
        api<Page<Escalation>>('GET', `${base}/escalations?status=RESOLVED&limit=20`),
      ]).then(([open, acknowledged, resolved]) => ({
        // One acknowledged between the reads is in two lists: listed once.
        items: [
          ...new Map([...open.items, ...acknowledged.items, ...resolved.items].map((e) => [e.id, e])).values(),
        ].sort((a, b) => b.raisedAt.localeCompare(a.raisedAt)),
      })),
      api<{ items: Evaluation[] }>('GET', `${base}/renewal-evaluations`),
      api<{ plan: ExitPlan | null }>('GET', `${base}/exit-plan`),
      api<{ items: StageChange[] }>('GET', `${base}/stage-changes`),
    ]);
  // The 20 newest open ones carry their live clock (next climb) from their workflow: one request each, every poll.
  const clocked = new Set(
    escalations.items
      .filter((e) => e.status !== 'RESOLVED')
      .slice(0, 20)
      .map((e) => e.id),
  );
  const details = await Promise.all(
    escalations.items.map((e) =>
      !clocked.has(e.id)
        ? Promise.resolve({ ...e, live: null, workflowUrl: '' })
        : api<EscalationDetail>('GET', `/escalations/${e.id}`),
    ),
  );
  return {
    engagement,
    transition,
    governance,
    measurements: measurements.items,
    reviews: reviews.items,
    escalations: details,
    evaluations: evaluations.items,
    exitPlan: exit.plan,
    stageChanges: stages.items,
  };
}

/** Runs one action through the API, shows its refusal text, and refreshes the view after it. */
function useAction(after: () => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = async (what: string, call: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await call();
      setDone(what);
      await after();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const feedback = (
    <div class="feedback" aria-live="polite">
      {error && <Problem error={error} />}
      {done && !error && <p class="ok">{done}.</p>}
    </div>
  );
  return { busy, run, feedback };
}

const can = (me: Me, ...roles: Me['role'][]) => me.role === 'ADMIN' || roles.includes(me.role);

export function EngagementPage({ id, me }: { id: string; me: Me }) {
  const { data, error, reload } = usePolled(() => loadView(id), [id]);
  if (!data) return error ? <Problem error={error} /> : <p>Loading…</p>;
  const { engagement: e } = data;
  return (
    <article aria-labelledby="engagement-title">
      <p class="crumbs">
        <a href="#/">Portfolio</a> /
      </p>
      <div class="page-head">
        <div>
          <h1 id="engagement-title">{e.name}</h1>
          <p class="sub">
            {e.clientOrganisation} · {e.vendor.legalName} ({label(e.vendor.deliveryModel)}) · term {date(e.termStart)} –{' '}
            {date(e.termEnd)} · {money(e.monthlyFee, e.currency)} a month
          </p>
        </div>
        <div class="head-side">
          <span data-testid="engagement-stage">
            Stage: <StageBadge stage={e.stage} />
          </span>
          <LifecycleControl view={data} me={me} reload={reload} />
        </div>
      </div>
      {error && <Problem error={error} />}
      <Timeline view={data} />
      <TransitionSection view={data} me={me} reload={reload} />
      <KpiSection view={data} />
      <ReviewSection view={data} />
      <EscalationSection view={data} me={me} reload={reload} />
      <RenewalSection view={data} me={me} reload={reload} />
      <ExitSection view={data} me={me} reload={reload} />
    </article>
  );
}

const STAGES = ['CONTRACTED', 'TRANSITION', 'STEADY_STATE', 'RENEWAL', 'EXIT', 'CLOSED'];

function Timeline({ view }: { view: View }) {
  const current = STAGES.indexOf(view.engagement.stage);
  const since = (stage: string) => view.stageChanges.filter((c) => c.toStage === stage).at(-1)?.occurredAt;
  const phases = view.transition.plan?.phases ?? [];
  return (
    <Section id="timeline" title="Stage timeline">
      <ol class="timeline">
        {STAGES.map((stage, i) => (
          <li
            key={stage}
            class={i < current ? 'done' : i === current ? 'current' : 'todo'}
            aria-current={i === current ? 'step' : undefined}
          >
            <span class="step-name">{label(stage)}</span>
            <span class="step-state">{i < current ? 'done' : i === current ? 'now' : 'ahead'}</span>
            {since(stage) && <span class="sub">since {date(since(stage))}</span>}
            {stage === 'TRANSITION' && phases.length > 0 && (
              <ol class="phases">
                {phases.map((p) => (
                  <li key={p.sequence} class={`phase phase-${p.status}`}>
                    {p.name} · {p.volumePct}% · {label(p.status)}
                  </li>
                ))}
              </ol>
            )}
          </li>
        ))}
      </ol>
    </Section>
  );
}

/**
 * The lifecycle's Web UI link once a lifecycle workflow exists; before that (an engagement just contracted, or loaded
 * by the seed), a program manager starts it here, as POST /engagements/:id/lifecycle does.
 */
function LifecycleControl({ view, me, reload }: { view: View; me: Me; reload: () => Promise<void> }) {
  const e = view.engagement;
  const action = useAction(reload);
  if (e.lifecycle || e.lifecycleUnavailable) return <WorkflowLink href={e.workflowUrl} what="engagement lifecycle" />;
  if (['EXIT', 'CLOSED'].includes(e.stage) || !can(me, 'PROGRAM_MANAGER'))
    return <span class="sub">No lifecycle workflow</span>;
  return (
    <div class="head-action">
      <button
        type="button"
        disabled={action.busy}
        onClick={() => action.run('Lifecycle started', () => api('POST', `/engagements/${e.id}/lifecycle`, {}))}
      >
        Start lifecycle
      </button>
      {action.feedback}
    </div>
  );
}

function TransitionSection({ view, me, reload }: { view: View; me: Me; reload: () => Promise<void> }) {
  const t = view.transition;
  const action = useAction(reload);
  const [reason, setReason] = useState('');
  const ramp = useMemo(() => rampDatasets(t), [t]);
  if (!t.plan) return null;
  const id = view.engagement.id;
  const phase = t.live ? t.live.phases[t.live.currentIndex] : undefined;
  // An ungated phase (knowledge transfer, shadowing) ends on its date without a gate.
  const currentPlanned = phase && t.plan.phases.find((p) => p.name === phase.name);
  const running = t.live && ['RUNNING', 'PAUSED'].includes(t.live.status);
  const steer = (path: string, what: string, body: unknown = {}) =>
    action.run(what, () => api('POST', `/engagements/${id}/transition/${path}`, body));
  return (
    <Section id="transition" title="Transition" actions={<WorkflowLink href={t.workflowUrl} what="transition" />}>
      <dl class="facts">
        <dt>Status</dt>
        <dd data-testid="transition-status">{t.live ? label(t.live.status) : (t.liveUnavailable ?? 'not running')}</dd>
        <dt>Phase</dt>
        <dd data-testid="transition-phase">{phase ? `${phase.name} (${label(phase.status)})` : '—'}</dd>
        <dt>Volume</dt>
        <dd>{t.live ? `${t.live.volumePct}%` : `${t.volumeChanges.at(-1)?.toPct ?? 0}%`}</dd>
        <dt>{currentPlanned?.gated === false ? 'Phase ends' : 'Next gate'}</dt>
        <dd>{t.live?.nextGateAt ? dateTime(t.live.nextGateAt) : '—'}</dd>
      </dl>
      {running && can(me, 'PROGRAM_MANAGER') && (
        <div class="actions" role="group" aria-label="Steer the transition">
          {phase?.status === 'ACTIVE' && t.live?.status === 'RUNNING' && (
            <button
              type="button"
              disabled={action.busy}
              onClick={() => steer('approve-gate', 'Gate approved', { phase: phase.name })}
            >
              Approve gate
            </button>
          )}
          {t.live?.status === 'PAUSED' ? (
            <button type="button" disabled={action.busy} onClick={() => steer('resume', 'Transition resumed')}>
              Resume
            </button>
          ) : (
            <button type="button" disabled={action.busy} onClick={() => steer('pause', 'Transition paused')}>
              Pause
            </button>
          )}
          <label>
            Override reason
            <input value={reason} onInput={(ev) => setReason((ev.target as HTMLInputElement).value)} />
          </label>
          <button
            type="button"
            disabled={action.busy}
            onClick={() => steer('override-gate', 'Gate overridden', { reason })}
          >
            Override gate
          </button>
        </div>
      )}
      {action.feedback}
      <TimeChart
        label="Volume handled by the vendor over time, with gate results"
        yTitle="volume %"
        yMax={100}
        datasets={ramp}
      />
      <table class="compact">
        <caption>Gate evaluations</caption>
        <ColumnHeads columns={['Phase', 'Attempt', 'When', 'Result', 'Score', 'Why']} />
        <tbody>
          {t.plan.phases.flatMap((p) =>
            p.gateEvaluations.map((g) => (
              <tr key={`${p.sequence}-${g.attempt}`}>
                <td>{p.name}</td>
                <td class="num">{g.attempt}</td>
                <td>{dateTime(g.evaluatedAt)}</td>
                <td>{gateResult(g)}</td>
                <td class="num">{g.score ?? '—'}</td>
                <td>{g.overriddenBy ? (g.details.note ?? '') : (g.details.reasons?.join('; ') ?? '')}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </Section>
  );
}

/** A gate's result in words: judged, approved early or overridden by someone. */
function gateResult(g: GateEvaluation): string {
  if (!g.overriddenBy) return g.passed ? 'passed ✓' : 'failed ✗';
  return g.details.decision === 'approved-early'
    ? `approved early by ${g.overriddenBy}`
    : `overridden by ${g.overriddenBy}`;
}

function rampDatasets(t: Transition): ChartDataset<'line' | 'scatter', Point[]>[] {
  // From the first phase's start (at 0 %) to now: the axis spans the transition even before volume moves.
  const started = t.plan?.phases.find((p) => p.startedAt)?.startedAt;
  const steps = [
    ...(started ? [{ x: Date.parse(started), y: 0 }] : []),
    ...t.volumeChanges.map((v) => ({ x: Date.parse(v.occurredAt), y: v.toPct })),
  ];
  if (steps.length) steps.push({ x: Date.now(), y: steps.at(-1)!.y });
  const gates = (t.plan?.phases ?? []).flatMap((p) =>
    p.gateEvaluations.map((g) => ({
      x: Date.parse(g.evaluatedAt),
      y: p.volumePct,
      passed: g.passed || !!g.overriddenBy,
    })),
  );
  return [
    {
      type: 'line',
      label: 'volume %',
      data: steps,
      stepped: 'before',
      borderColor: '#1f5fbf',
      backgroundColor: '#1f5fbf33',
      fill: true,
    },
    {
      type: 'scatter',
      label: 'gate passed',
      data: gates.filter((g) => g.passed),
      pointStyle: 'triangle',
      pointRadius: 7,
      backgroundColor: '#1b7f3b',
    },
    {
      type: 'scatter',
      label: 'gate failed',
      data: gates.filter((g) => !g.passed),
      pointStyle: 'crossRot',
      pointRadius: 8,
      borderColor: '#b3261e',
      borderWidth: 3,
    },
  ];
}

function KpiSection({ view }: { view: View }) {
  const { slas } = view.engagement;
  if (!slas.length) return null;
  return (
    <Section id="kpis" title="KPI trends against target and minimum">
      <div class="kpi-grid">
        {slas.map((sla) => (
          <KpiChart key={sla.key} sla={sla} measurements={view.measurements.filter((m) => m.kpiKey === sla.key)} />
        ))}
      </div>
    </Section>
  );
}

function KpiChart({ sla, measurements }: { sla: Sla; measurements: Measurement[] }) {
  const datasets = useMemo(() => {
    const points = measurements.map((m) => ({ x: Date.parse(m.periodStart), y: Number(m.value) }));
    // Target and minimum span the data (a month either side of a single point).
    const span = !points.length
      ? []
      : points.length === 1
        ? [points[0].x - 15 * 86_400_000, points[0].x + 15 * 86_400_000]
        : [points[0].x, points.at(-1)!.x];
    const flat = (y: number) => span.map((x) => ({ x, y }));
    return [
      { type: 'line' as const, label: sla.name, data: points, borderColor: '#1f5fbf', pointRadius: 3 },
      {
        type: 'line' as const,
        label: 'target',
        data: flat(Number(sla.target)),
        borderColor: '#1b7f3b',
        borderDash: [6, 4],
        pointRadius: 0,
      },
      {
        type: 'line' as const,
        label: 'minimum',
        data: flat(Number(sla.minimum)),
        borderColor: '#b3261e',
        borderDash: [2, 3],
        pointRadius: 0,
      },
    ];
  }, [sla, measurements]);
  const last = measurements.at(-1);
  return (
    <figure class="kpi">
      <figcaption>
        <strong>{sla.name}</strong> ({sla.unit}, {sla.direction === 'HIGHER_IS_BETTER' ? 'higher' : 'lower'} is better)
        · target {sla.target}, minimum {sla.minimum} · latest{' '}
        {last ? `${last.value} (${date(last.periodStart)})` : 'none'}
      </figcaption>
      <TimeChart
        label={`${sla.name}: ${measurements.length} measurements; latest ${last?.value ?? 'none'}; target ${sla.target}; minimum ${sla.minimum}`}
        yTitle={sla.unit}
        datasets={datasets}
        height={180}
      />
    </figure>
  );
}

function ReviewSection({ view }: { view: View }) {
  const next = view.governance.live?.next ?? [];
  return (
    <Section
      id="reviews"
      title="Reviews and service credits"
      actions={view.governance.live && <WorkflowLink href={view.governance.workflowUrl} what="governance" />}
    >
      {next.length > 0 && (
        <p class="sub">Next: {next.map((n) => `${n.cadence.toLowerCase()} ${dateTime(n.dueAt)}`).join(' · ')}</p>
      )}
      {view.governance.status && view.governance.status !== 'RUNNING' && (
        <p class="sub" data-testid="governance-status">
          Reviews stopped ({label(view.governance.status)}).
        </p>
      )}
      {view.reviews.length === 0 ? (
        <p>No reviews yet.</p>
      ) : (
        <table class="compact">
          <ColumnHeads columns={['Review', 'Period', 'Score', 'Credits', 'Scorecard']} />
          <tbody>
            {view.reviews.map((r) => (
              <tr key={r.id}>
                <td>{label(r.cadence)}</td>
                <td>
                  {date(r.periodStart)} – {date(r.periodEnd)}
                </td>
                <td class="num">{r.overallScore ?? '—'}</td>
                <td class="num">{money(r.creditsTotal, view.engagement.currency)}</td>
                <td>
                  <details>
                    <summary>{(r.scorecard.kpis ?? []).filter((k) => k.status !== 'met').length} not met</summary>
                    <ul>
                      {(r.scorecard.kpis ?? []).map((k) => (
                        <li key={k.key}>
                          {k.key}: {k.value ?? 'missing'} (target {k.target}, minimum {k.minimum}) — {k.status}
                        </li>
                      ))}
                      {r.credits.map((c) => (
                        <li key={c.slaKey}>
                          credit {c.slaKey}: {c.arithmetic}
                        </li>
                      ))}
                    </ul>
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function EscalationSection({ view, me, reload }: { view: View; me: Me; reload: () => Promise<void> }) {
  const now = useNow();
  const action = useAction(reload);
  // What is typed for one escalation stays with it.
  const [resolutions, setResolutions] = useState<Record<string, { resolution: string; rootCause: string }>>({});
  const nothingTyped = { resolution: '', rootCause: '' };
  const typed = (id: string) => resolutions[id] ?? nothingTyped;
  const type = (id: string, field: keyof typeof nothingTyped, value: string) =>
    setResolutions((all) => ({ ...all, [id]: { ...(all[id] ?? nothingTyped), [field]: value } }));
  const mayAct = can(me, 'PROGRAM_MANAGER', 'VENDOR', 'EXECUTIVE');
  return (
    <Section id="escalations" title="Escalations">
      {action.feedback}
      {view.escalations.length === 0 ? (
        <p>No escalations.</p>
      ) : (
        <ul class="escalations">
          {view.escalations.map((x) => (
            <li key={x.id} class={`escalation status-${x.status}`} data-escalation-id={x.id}>
              <div>
                <span class={`sev sev-${x.severity}`}>{x.severity}</span> <strong>{x.title}</strong> · {label(x.status)}{' '}
                · level {x.live?.level ?? x.currentLevel}
                {x.live?.nextClimbAt && x.status !== 'RESOLVED' && (
                  <span class="countdown">
                    {' '}
                    ·{' '}
                    {(x.live.level ?? x.currentLevel) < view.engagement.escalationLevels.length
                      ? `climbs to level ${(x.live.level ?? x.currentLevel) + 1}`
                      : 'top level reminded'}{' '}
                    {relative(x.live.nextClimbAt, now)}
                  </span>
                )}
              </div>
              <div class="sub">
                {x.category} · raised {dateTime(x.raisedAt)}
                {x.assignee ? ` · assigned to ${x.assignee}` : ''} ·{' '}
                {x.workflowUrl && <WorkflowLink href={x.workflowUrl} what={`escalation ${x.title}`} />}
              </div>
              {mayAct && x.status !== 'RESOLVED' && (
                <div class="actions" role="group" aria-label={`Act on escalation ${x.title}`}>
                  {/* An acknowledged escalation cannot be acknowledged again: only resolved. */}
                  {x.status === 'OPEN' && (
                    <button
                      type="button"
                      disabled={action.busy}
                      onClick={() =>
                        action.run('Escalation acknowledged', () => api('POST', `/escalations/${x.id}/acknowledge`, {}))
                      }
                    >
                      Acknowledge
                    </button>
                  )}
                  <label>
                    Resolution
                    <input
                      value={typed(x.id).resolution}
                      onInput={(ev) => type(x.id, 'resolution', (ev.target as HTMLInputElement).value)}
                    />
                  </label>
                  <label>
                    Root cause
                    <input
                      value={typed(x.id).rootCause}
                      onInput={(ev) => type(x.id, 'rootCause', (ev.target as HTMLInputElement).value)}
                    />
                  </label>
                  <button
                    type="button"
                    disabled={action.busy}
                    onClick={() =>
                      action.run('Escalation resolved', () =>
                        api('POST', `/escalations/${x.id}/resolve`, {
                          resolution: typed(x.id).resolution,
                          // Left blank (spaces are blank): not sent, rather than refused as too short.
                          ...(typed(x.id).rootCause.trim() ? { rootCause: typed(x.id).rootCause } : {}),
                        }),
                      )
                    }
                  >
                    Resolve
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

function RenewalSection({ view, me, reload }: { view: View; me: Me; reload: () => Promise<void> }) {
  const action = useAction(reload);
  const [decision, setDecision] = useState('RENEW');
  const [reason, setReason] = useState('');
  const [fee, setFee] = useState('');
  const life = view.engagement.lifecycle;
  // Newest term first, as the API lists them.
  const evaluation = view.evaluations[0];
  if (!life && !evaluation) return null;
  const pending = life?.stage === 'RENEWAL' && life.renewal && !life.renewal.decision;
  return (
    <Section id="renewal" title="Renewal">
      {life && (
        <dl class="facts">
          <dt>Evaluation</dt>
          <dd>{date(life.milestones.evaluationAt)}</dd>
          <dt>Decision due before</dt>
          <dd>{date(life.milestones.noticeDeadline)}</dd>
          <dt>Term ends</dt>
          <dd>{date(life.milestones.termEnd)}</dd>
          <dt>Decision</dt>
          <dd data-testid="renewal-decision">
            {life.renewal?.decision
              ? decided(
                  {
                    decision: life.renewal.decision,
                    by: life.renewal.decidedBy,
                    via: life.renewal.via,
                    reason: life.renewal.reason,
                    fee: life.renewal.newMonthlyFee,
                  },
                  view.engagement.currency,
                ) + (life.renewal.newTermOpensAt ? ` — the new term opens ${date(life.renewal.newTermOpensAt)}` : '')
              : life.renewal
                ? `pending${life.renewal.councilEscalated ? ' — escalated to the council' : ''}`
                : 'not yet evaluated'}
          </dd>
        </dl>
      )}
      {/* No lifecycle runs (closed, or stopped): the decision as it was recorded for the newest term. (Not while
          Temporal cannot be asked: one may run, and be carrying out a newer decision.) */}
      {!life && !view.engagement.lifecycleUnavailable && evaluation?.decision && (
        <p data-testid="recorded-renewal-decision">
          Decided for the term ending {date(evaluation.termEnd)}:{' '}
          {decided(
            {
              decision: evaluation.decision,
              by: evaluation.decidedBy,
              via: evaluation.decidedVia,
              reason: evaluation.decisionReason,
              fee: evaluation.newMonthlyFee,
            },
            view.engagement.currency,
          )}
          {evaluation.decidedAt ? ` on ${date(evaluation.decidedAt)}` : ''}
        </p>
      )}
      {evaluation && (
        <p>
          Recommendation for the term ending {date(evaluation.termEnd)}:{' '}
          <strong>{label(evaluation.recommendation)}</strong> — {evaluation.reasons.join('; ')}
        </p>
      )}
      {pending && can(me, 'EXECUTIVE') && (
        <form
          class="actions"
          aria-label="Record the renewal decision"
          onSubmit={(ev) => {
            ev.preventDefault();
            void action.run('Renewal decided', () =>
              api('POST', `/engagements/${view.engagement.id}/renewal-decision`, {
                decision,
                ...(reason.trim() ? { reason } : {}),
                ...(decision === 'RENEGOTIATE' && fee.trim() ? { newMonthlyFee: fee.trim() } : {}),
              }),
            );
          }}
        >
          <label>
            Decision
            <select value={decision} onChange={(ev) => setDecision((ev.target as HTMLSelectElement).value)}>
              <option value="RENEW">Renew</option>
              <option value="RENEGOTIATE">Renegotiate</option>
              <option value="EXIT">Exit</option>
            </select>
          </label>
          {decision === 'RENEGOTIATE' && (
            <>
              <label>
                New monthly fee ({view.engagement.currency})
                <input
                  inputMode="decimal"
                  pattern="\d{1,12}(\.\d{1,2})?"
                  value={fee}
                  placeholder={view.engagement.monthlyFee}
                  aria-describedby="renegotiated-fee-hint"
                  onInput={(ev) => setFee((ev.target as HTMLInputElement).value)}
                />
              </label>
              <small id="renegotiated-fee-hint">
                Left empty, the next term keeps {money(view.engagement.monthlyFee, view.engagement.currency)}.
              </small>
            </>
          )}
          <label>
            Reason
            <input value={reason} onInput={(ev) => setReason((ev.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" disabled={action.busy}>
            Record decision
          </button>
        </form>
      )}
      {action.feedback}
    </Section>
  );
}

/** A renewal decision in words: what, by whom and through which channel, why, and a renegotiated fee. */
function decided(
  d: { decision: string; by?: string | null; via?: string | null; reason?: string | null; fee?: string | null },
  currency: string,
): string {
  return (
    `${label(d.decision)} by ${d.by ?? 'unknown'}` +
    (d.via ? ` (${d.via})` : '') +
    (d.reason ? `: ${d.reason}` : '') +
    (d.fee ? ` — new monthly fee ${money(d.fee, currency)}` : '')
  );
}

function ExitSection({ view, me, reload }: { view: View; me: Me; reload: () => Promise<void> }) {
  const action = useAction(reload);
  // The evidence typed for each step (a sign-off, the certificate of deletion's reference) stays with it.
  const [evidence, setEvidence] = useState<Record<string, string>>({});
  const plan = view.exitPlan;
  if (!plan) return null;
  const now = Date.now();
  return (
    <Section id="exit" title="Exit">
      <p>
        {plan.reason} · started {date(plan.startedAt)}
      </p>
      {action.feedback}
      <table class="compact">
        <ColumnHeads
          columns={['Step', 'Owner', 'Due', 'Done', 'Evidence', <span class="visually-hidden">Action</span>]}
        />
        <tbody>
          {plan.steps.map((s) => (
            <tr key={s.kind}>
              <td>{label(s.kind)}</td>
              <td>{s.owner}</td>
              <td class={overdue(s, now) ? 'overdue' : ''}>
                {date(s.dueOn)}
                {overdue(s, now) ? ' (overdue)' : ''}
              </td>
              <td>{s.completedAt ? `${date(s.completedAt)} by ${s.completedBy}` : 'open'}</td>
              {s.completedAt ||
              !(can(me, 'PROGRAM_MANAGER') || (me.role === 'VENDOR' && s.owner.startsWith('vendor'))) ? (
                <>
                  <td>
                    {s.evidence ?? (s.completedAt ? '—' : s.evidenceRequired ? `needs ${s.evidenceRequired}` : '')}
                  </td>
                  <td />
                </>
              ) : (
                <>
                  <td>
                    <input
                      aria-label={`Evidence for ${label(s.kind)}`}
                      placeholder={s.evidenceRequired ?? 'optional'}
                      required={s.evidenceRequired != null}
                      value={evidence[s.kind] ?? ''}
                      onInput={(ev) => {
                        const value = (ev.target as HTMLInputElement).value;
                        setEvidence((all) => ({ ...all, [s.kind]: value }));
                      }}
                    />
                  </td>
                  <td>
                    <button
                      type="button"
                      // The certificate's reference is what completes the deletion: not without it.
                      disabled={action.busy || (s.evidenceRequired != null && !evidence[s.kind]?.trim())}
                      onClick={() =>
                        action.run('Exit step completed', () =>
                          api(
                            'POST',
                            `/engagements/${view.engagement.id}/exit-steps/${s.kind}/complete`,
                            // Left blank: not sent (the API says when the step needs it).
                            evidence[s.kind]?.trim() ? { evidence: evidence[s.kind] } : {},
                          ),
                        )
                      }
                    >
                      Complete
                    </button>
                  </td>
                </>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

/** An open step is overdue once its due day has ended in the engagement's zone: "due 10 May" includes the 10th. */
function overdue(step: { dueAt: string; completedAt?: string | null }, now: number): boolean {
  return !step.completedAt && Date.parse(step.dueAt) < now;
}
