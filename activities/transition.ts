import { DateTime } from 'luxon';
import { Prisma } from '../src/generated/prisma/client';
import { isUniqueViolation, type PrismaClient } from '../src/db';
import { periodAt, periodDates } from '../src/domain/calendar';
import { evaluateGate as judgeGate, measuredForGate, windowMeasure, type GateVerdict } from '../src/domain/scorecard';
import type { PhasePlan } from '../src/domain/transition';
import { toKpiDefinition } from './kpis';

/** Effects of the transition workflow. Each is idempotent on a business key (engagement, phase, attempt). */
export function createTransitionActivities(prisma: PrismaClient) {
  // One statement (the plan is a relation filter), not two: every transition activity starts here, and on a busy
  // worker each statement's client-side cost is what limits throughput (docs/performance.md, concurrency).
  const phaseOf = (tx: Prisma.TransactionClient, engagementId: string, sequence: number) =>
    tx.transitionPhase.findFirstOrThrow({ where: { plan: { engagementId }, sequence } });

  return {
    /** A transition cancelled by a termination for cause: the phases it had not finished are cancelled, once. */
    async cancelOpenPhases(input: { engagementId: string }): Promise<number> {
      return prisma.$transaction(async (tx) => {
        // The plan's row locked first, as a plan change locks it: one stored meanwhile comes before, and is cancelled.
        await lockedPlan(tx, input.engagementId);
        const { count } = await tx.transitionPhase.updateMany({
          where: { plan: { engagementId: input.engagementId }, status: { in: ['PENDING', 'ACTIVE', 'HELD'] } },
          data: { status: 'CANCELLED' },
        });
        return count;
      });
    },

    /**
     * Where the engagement's stored phases stand: a transition run started again after one failed or was terminated
     * resumes from here (passed phases stay passed, the running one keeps its start, its gate its attempts), rather
     * than running every phase again on the first run's rows. Read only.
     */
    async storedProgress(input: { engagementId: string }): Promise<StoredProgress> {
      const [phases, volume, steering] = await Promise.all([
        prisma.transitionPhase.findMany({
          where: { plan: { engagementId: input.engagementId } },
          orderBy: { sequence: 'asc' },
          include: { gateEvaluations: { orderBy: { attempt: 'asc' } } },
        }),
        prisma.volumeChange.findFirst({
          where: { engagementId: input.engagementId },
          orderBy: [{ occurredAt: 'desc' }, { id: 'desc' }],
        }),
        prisma.auditLog.findMany({
          where: {
            entityType: 'Engagement',
            entityId: input.engagementId,
            action: { in: ['transition.pause', 'transition.resume'] },
          },
          orderBy: [{ at: 'asc' }, { id: 'asc' }],
        }),
      ]);
      return {
        volumePct: volume?.toPct ?? null,
        // Pauses and resumes as audited: the workflow time of each (in its detail since pauses carry it; the row's
        // time before), the phase, and for a resume how long the pause lasted.
        steering: steering.map((a) => {
          const detail = (a.after ?? {}) as { phase?: string; at?: string; pausedSeconds?: number };
          return {
            action: a.action === 'transition.pause' ? ('pause' as const) : ('resume' as const),
            at: detail.at ?? a.at.toISOString(),
            phase: detail.phase ?? null,
            pausedSeconds: detail.pausedSeconds ?? 0,
          };
        }),
        phases: phases.map((p) => ({
          sequence: p.sequence,
          status: p.status,
          startedAt: p.startedAt?.toISOString() ?? null,
          completedAt: p.completedAt?.toISOString() ?? null,
          gates: p.gateEvaluations.map((g) => ({
            attempt: g.attempt,
            passed: g.passed,
            evaluatedAt: g.evaluatedAt.toISOString(),
            // A person's decision stores its kind and note; a judgement the verdict.
            ...(g.overriddenBy
              ? { decidedBy: g.overriddenBy, decision: g.details as StoredGate['decision'] }
              : { verdict: g.details as unknown as GateVerdict }),
          })),
        })),
      };
    },

    /** Marks a phase started and records the volume it brings, once. */
    async startPhase(input: {
      engagementId: string;
      sequence: number;
      startedAt: string;
      volumeFrom: number;
      volumeTo: number;
    }) {
      await prisma.$transaction(async (tx) => {
        const phase = await phaseOf(tx, input.engagementId, input.sequence);
        // Cancelled (a termination for cause) while this ran, or meanwhile: it stays cancelled, and volume does not
        // move. (The condition is the update's, so a cancellation committed between the read and it still counts.)
        const { count } = await tx.transitionPhase.updateMany({
          where: { id: phase.id, startedAt: null, status: { not: 'CANCELLED' } },
          data: { status: 'ACTIVE', startedAt: new Date(input.startedAt) },
        });
        if (count === 0) return;
        if (input.volumeFrom !== input.volumeTo) {
          await tx.volumeChange.create({
            data: {
              engagementId: input.engagementId,
              fromPct: input.volumeFrom,
              toPct: input.volumeTo,
              reason: `${phase.name} started`,
              occurredAt: new Date(input.startedAt),
              idempotencyKey: `${input.engagementId}/phase-${input.sequence}/start`,
            },
          });
        }
      });
    },

    /**
     * Judges a gate from the KPI measurements of the phase window and stores the verdict. A retry (or a replay)
     * of the same attempt returns the stored verdict instead of judging again on newer data.
     */
    async evaluateGate(input: {
      engagementId: string;
      sequence: number;
      attempt: number;
      windowStart: string;
      evaluatedAt: string;
      threshold: number;
    }): Promise<GateVerdict> {
      return prisma.$transaction(async (tx) => {
        const phase = await phaseOf(tx, input.engagementId, input.sequence);
        const stored = await tx.gateEvaluation.findUnique({
          where: { phaseId_attempt: { phaseId: phase.id, attempt: input.attempt } },
        });
        if (stored) return stored.details as unknown as GateVerdict;

        const slas = await tx.sla.findMany({ where: { engagementId: input.engagementId }, orderBy: { key: 'asc' } });
        // Judged by day over the phase window, as a review is over its period (windowMean): the days of the
        // engagement's time zone, which KPI periods are dated in (a phase started in the evening UTC in Tokyo
        // starts on the next day there, and the day before belongs to the wave before).
        const { timeZone, reviewGraceSeconds } = await tx.engagement.findUniqueOrThrow({
          where: { id: input.engagementId },
          select: { timeZone: true, reviewGraceSeconds: true },
        });
        const [from, to] = [input.windowStart, input.evaluatedAt].map((t) =>
          DateTime.fromISO(t, { zone: 'utc' }).setZone(timeZone).toISODate()!,
        );
        const measurements = await tx.kpiMeasurement.findMany({
          where: {
            engagementId: input.engagementId,
            supersededAt: null,
            periodEnd: { gte: utcDate(from) },
            periodStart: { lte: utcDate(to) },
          },
          orderBy: [{ submittedAt: 'asc' }, { id: 'asc' }],
        });
        const values: Record<string, number | undefined> = {};
        // A KPI whose figures leave days of its finished periods unmeasured is missing data, not judged on the days
        // that were sent (a gate passed on two good days of a fortnight let volume ramp before quality was proven).
        const partly: Record<string, { measuredDays: number; days: number }> = {};
        // A period's figure is due once it has ended and the engagement's grace for sending it (the reviews') has
        // passed: the days of the period running at that instant, and after, may be missing.
        const dueBy = Date.parse(input.evaluatedAt) - reviewGraceSeconds * 1000;
        for (const sla of slas) {
          const figures = measurements
            .filter((m) => m.slaId === sla.id)
            .map((m) => ({
              value: m.value.toNumber(),
              periodStart: m.periodStart.toISOString().slice(0, 10),
              periodEnd: m.periodEnd.toISOString().slice(0, 10),
            }));
          const measured = windowMeasure(from, to, figures);
          const open = periodDates(periodAt(sla.measurementPeriod, dueBy, timeZone), timeZone);
          if (measuredForGate(from, to, open.from, figures, measured)) values[sla.key] = measured.mean;
          else if (measured.measuredDays > 0)
            partly[sla.key] = { measuredDays: measured.measuredDays, days: measured.days };
        }
        const verdict = judgeGate(slas.map(toKpiDefinition), values, input.threshold, partly);
        await tx.gateEvaluation.create({
          data: {
            phaseId: phase.id,
            attempt: input.attempt,
            passed: verdict.passed,
            score: verdict.score,
            details: verdict as unknown as Prisma.InputJsonValue,
            evaluatedAt: new Date(input.evaluatedAt),
          },
        });
        // (A phase cancelled while it was judged stays cancelled.)
        if (!verdict.passed)
          await tx.transitionPhase.updateMany({
            where: { id: phase.id, status: { not: 'CANCELLED' } },
            data: { status: 'HELD' },
          });
        return verdict;
      });
    },

    /** Records a person's decision on a gate (approved early, or overridden with a reason), audited, once. */
    async recordGateDecision(input: {
      engagementId: string;
      sequence: number;
      attempt: number;
      decision: 'approved-early' | 'overridden';
      decidedBy: string;
      note?: string;
      evaluatedAt: string;
    }) {
      await prisma.$transaction(async (tx) => {
        const phase = await phaseOf(tx, input.engagementId, input.sequence);
        const existing = await tx.gateEvaluation.findUnique({
          where: { phaseId_attempt: { phaseId: phase.id, attempt: input.attempt } },
        });
        if (existing) return;
        const row = await tx.gateEvaluation.create({
          data: {
            phaseId: phase.id,
            attempt: input.attempt,
            passed: true,
            details: { decision: input.decision, note: input.note ?? null },
            overriddenBy: input.decidedBy,
            overrideReason: input.note ?? input.decision,
            evaluatedAt: new Date(input.evaluatedAt),
          },
        });
        await tx.auditLog.create({
          data: {
            actor: input.decidedBy,
            action: `transition.gate.${input.decision}`,
            entityType: 'TransitionPhase',
            entityId: phase.id,
            after: { phase: phase.name, attempt: input.attempt, reason: input.note ?? null },
            idempotencyKey: `gate-decision/${row.id}`,
          },
        });
      });
    },

    async completePhase(input: {
      engagementId: string;
      sequence: number;
      status: 'PASSED' | 'OVERRIDDEN';
      completedAt: string;
    }) {
      await prisma.$transaction(async (tx) => {
        const phase = await phaseOf(tx, input.engagementId, input.sequence);
        await tx.transitionPhase.updateMany({
          where: { id: phase.id, completedAt: null, status: { not: 'CANCELLED' } },
          data: { status: input.status, completedAt: new Date(input.completedAt) },
        });
      });
    },

    /** A volume move outside a phase start (a rollback after an escalation), once per key. */
    async recordVolumeChange(input: {
      engagementId: string;
      fromPct: number;
      toPct: number;
      reason: string;
      occurredAt: string;
      key: string;
    }) {
      const idempotencyKey = `${input.engagementId}/${input.key}`;
      if (await prisma.volumeChange.findUnique({ where: { idempotencyKey } })) return;
      await prisma.volumeChange
        .create({
          data: {
            engagementId: input.engagementId,
            fromPct: input.fromPct,
            toPct: input.toPct,
            reason: input.reason,
            occurredAt: new Date(input.occurredAt),
            idempotencyKey,
          },
        })
        .catch(ignoreDuplicate);
    },

    /** Replaces the phases that have not started with a new tail of the plan. */
    async replacePlannedPhases(input: { engagementId: string; afterSequence: number; phases: PhasePlan[] }) {
      await prisma.$transaction(async (tx) => {
        // The plan's row locked first, as a cancellation locks it: a plan change still being stored when the
        // transition was cancelled (a termination for cause) writes nothing, rather than put PENDING phases back.
        const plan = await lockedPlan(tx, input.engagementId);
        if (!plan) throw new Error(`engagement ${input.engagementId} has no transition plan`);
        if (plan.cancelled) return;
        await tx.transitionPhase.deleteMany({
          where: { planId: plan.id, sequence: { gt: input.afterSequence }, startedAt: null },
        });
        await tx.transitionPhase.createMany({
          data: input.phases.map((p, i) => ({ ...p, planId: plan.id, sequence: input.afterSequence + 1 + i })),
        });
      });
    },

    /** Audits a steering action taken on the transition (pause, resume, plan change), once per key. */
    async auditTransitionAction(input: {
      engagementId: string;
      actor: string;
      action: string;
      detail: unknown;
      key: string;
    }) {
      await prisma.auditLog
        .create({
          data: {
            actor: input.actor,
            action: `transition.${input.action}`,
            entityType: 'Engagement',
            entityId: input.engagementId,
            after: input.detail as Prisma.InputJsonValue,
            idempotencyKey: `${input.engagementId}/${input.key}`,
          },
        })
        .catch(ignoreDuplicate);
    },
  };
}

/**
 * The engagement's transition plan, its row locked for the rest of the transaction (a plan change and a cancellation
 * take it in turn), and whether the transition was cancelled (phases of it are).
 */
async function lockedPlan(
  tx: Prisma.TransactionClient,
  engagementId: string,
): Promise<{ id: string; cancelled: boolean } | undefined> {
  const [plan] = await tx.$queryRaw<Array<{ id: string; cancelled: boolean }>>`
    SELECT p."id", EXISTS (SELECT FROM "TransitionPhase" ph
                           WHERE ph."planId" = p."id" AND ph."status" = 'CANCELLED') AS "cancelled"
    FROM "TransitionPlan" p WHERE p."engagementId" = ${engagementId}::uuid FOR NO KEY UPDATE OF p`;
  return plan;
}

/** A stored gate: the verdict of a judgement, or a person's decision. */
export interface StoredGate {
  attempt: number;
  passed: boolean;
  evaluatedAt: string;
  verdict?: GateVerdict;
  decidedBy?: string;
  decision?: { decision: 'approved-early' | 'overridden'; note: string | null };
}

/**
 * The stored phases of an engagement's transition, the volume its last change left with the vendor, and its pauses
 * and resumes.
 */
export interface StoredProgress {
  volumePct: number | null;
  steering?: Array<{ action: 'pause' | 'resume'; at: string; phase: string | null; pausedSeconds: number }>;
  phases: Array<{
    sequence: number;
    status: 'PENDING' | 'ACTIVE' | 'HELD' | 'PASSED' | 'OVERRIDDEN' | 'CANCELLED';
    startedAt: string | null;
    completedAt: string | null;
    gates: StoredGate[];
  }>;
}

function utcDate(iso: string): Date {
  return new Date(`${iso.slice(0, 10)}T00:00:00.000Z`);
}

export function ignoreDuplicate(error: unknown): void {
  if (isUniqueViolation(error)) return;
  throw error;
}
