/** The phased transition as data: default plan, wave overrides, and the checks a plan must pass. Pure. */
import { parseDuration } from './duration';

export const PHASE_KINDS = [
  'KNOWLEDGE_TRANSFER',
  'SHADOWING',
  'REVERSE_SHADOWING',
  'PILOT',
  'RAMP_WAVE',
  'STABILISATION',
] as const;
export type PhaseKind = (typeof PHASE_KINDS)[number];

export interface PhasePlan {
  kind: PhaseKind;
  /** Short code, also the BpoPhase search attribute: `wave-2`. */
  name: string;
  volumePct: number;
  minDurationSeconds: number;
  gated: boolean;
}

export interface TransitionRules {
  gateThreshold: number;
  holdSeconds: number;
  maxConsecutiveFailures: number;
  rollbackOnEscalation: boolean;
}

export interface TransitionPlanData extends TransitionRules {
  phases: PhasePlan[];
}

export const DEFAULT_WAVES = [10, 25, 50, 100];

export const DEFAULT_RULES: TransitionRules = {
  gateThreshold: 95,
  holdSeconds: parseDuration('7d'),
  maxConsecutiveFailures: 2,
  rollbackOnEscalation: false,
};

/**
 * The 16-week model: knowledge transfer and shadowing (weeks 1–2), a parallel run on the first wave (weeks 3–6),
 * cutover through the remaining waves (weeks 7–10, each gated), stabilisation at full volume (weeks 11–16).
 */
export function defaultTransitionPlan(
  waves: number[] = DEFAULT_WAVES,
  rules: Partial<TransitionRules> = {},
): TransitionPlanData {
  const [pilot, ...cutover] = waves;
  const cutoverDays = 28;
  const phases: PhasePlan[] = [
    {
      kind: 'KNOWLEDGE_TRANSFER',
      name: 'knowledge-transfer',
      volumePct: 0,
      minDurationSeconds: parseDuration('7d'),
      gated: false,
    },
    { kind: 'SHADOWING', name: 'shadowing', volumePct: 0, minDurationSeconds: parseDuration('7d'), gated: false },
    { kind: 'PILOT', name: 'wave-1', volumePct: pilot, minDurationSeconds: parseDuration('28d'), gated: true },
    ...cutover.map((volumePct, i) => ({
      kind: 'RAMP_WAVE' as const,
      name: `wave-${i + 2}`,
      volumePct,
      // Split the four cutover weeks evenly, whole days, the last wave taking the remainder.
      minDurationSeconds:
        86_400 *
        (i < cutover.length - 1
          ? Math.floor(cutoverDays / cutover.length)
          : cutoverDays - Math.floor(cutoverDays / cutover.length) * (cutover.length - 1)),
      gated: true,
    })),
    {
      kind: 'STABILISATION',
      name: 'stabilisation',
      volumePct: waves[waves.length - 1],
      minDurationSeconds: parseDuration('42d'),
      gated: true,
    },
  ];
  return { ...DEFAULT_RULES, ...rules, phases };
}

/** Problems with a plan, in words; empty when it is sound. */
/** The least time a plan takes: the sum of its phases' minimum durations, in seconds. */
export function minimumSeconds(plan: { phases: Array<Pick<PhasePlan, 'minDurationSeconds'>> }): number {
  return plan.phases.reduce((sum, p) => sum + p.minDurationSeconds, 0);
}

export function planProblems(phases: PhasePlan[]): string[] {
  const problems: string[] = [];
  if (phases.length === 0) problems.push('a plan needs at least one phase');
  phases.forEach((p, i) => {
    if (!Number.isInteger(p.volumePct) || p.volumePct < 0 || p.volumePct > 100)
      problems.push(`phase ${i + 1}: volumePct must be 0–100`);
    if (!Number.isInteger(p.minDurationSeconds) || p.minDurationSeconds < 0)
      problems.push(`phase ${i + 1}: minimum duration must not be negative`);
    if (!/^[a-z0-9-]{1,40}$/.test(p.name)) problems.push(`phase ${i + 1}: name must be a short lower-case code`);
    if (i > 0 && p.volumePct < phases[i - 1].volumePct)
      problems.push(`phase ${i + 1}: volume must not fall from one phase to the next`);
  });
  if (new Set(phases.map((p) => p.name)).size !== phases.length) problems.push('phase names must be unique');
  const last = phases[phases.length - 1];
  if (last && last.volumePct !== 100) problems.push('the last phase must carry 100% of the volume');
  return problems;
}
