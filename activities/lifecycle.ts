import { Context, log } from '@temporalio/activity';
import {
  WorkflowFailedError,
  WorkflowIdConflictPolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { Prisma } from '../src/generated/prisma/client';
import type { PrismaClient } from '../src/db';
import {
  dueDay,
  median,
  recommendRenewal,
  type ExitStepPlan,
  type Recommendation,
  nextTerm,
  type RenewalDecisionKind,
  type RenewalScorecard,
} from '../src/domain/renewal';
import { escalationIdempotencyKey, escalationWorkflowId, lifecycleEscalationKeys } from '../src/domain/escalation';
import { shortestCadenceFirst } from '../src/domain/types';
import { resolveUpdate } from '../workflows/escalation.messages';
import { governanceWorkflowId, type GovernanceInput } from '../workflows/governance.messages';
import { transitionWorkflowId } from '../workflows/transition.messages';
import { endResolvedWorkflow } from './escalations';
import { ignoreDuplicate } from './transition';

/** How long a renewal evaluation waits for a transition-overrun escalation to take its answer. */
const OVERRUN_SETTLE_MS = 5_000;
/** How long an engagement's closure waits for each escalation it resolves (the activity's own limit is 15 s). */
const CLOSING_SETTLE_MS = 3_000;

/** Effects of the engagement lifecycle: governance on and off, renewal evaluation and decision, terms, exit. */
export function createLifecycleActivities(prisma: PrismaClient, client: Client, taskQueue: string) {
  const audit = (data: { actor: string; action: string; entityId: string; after: unknown; key: string }) =>
    prisma.auditLog
      .create({
        data: {
          actor: data.actor,
          action: data.action,
          entityType: 'Engagement',
          entityId: data.entityId,
          after: data.after as Prisma.InputJsonValue,
          idempotencyKey: data.key,
        },
      })
      .catch(ignoreDuplicate);

  async function settleEscalation(
    input: { engagementId: string; key: string; resolution: string },
    /** Given up after this long (a stuck escalation workflow holds it no longer); by default, only when cancelled. */
    withinMs?: number,
  ): Promise<void> {
    const escalation = await prisma.escalation.findUnique({
      where: { idempotencyKey: escalationIdempotencyKey(input.engagementId, input.key) },
      select: { id: true, status: true },
    });
    if (!escalation || escalation.status === 'RESOLVED') return;
    await resolveByWorkflow(escalation.id, { resolution: input.resolution }, withinMs);
  }

  /**
   * Resolves an escalation through its workflow, as the system: 'resolved', or 'gone' when no workflow runs it (a
   * person resolved it meanwhile, and the update was refused, counts as resolved).
   */
  async function resolveByWorkflow(
    escalationId: string,
    answer: { resolution: string; rootCause?: string },
    withinMs?: number,
  ): Promise<'resolved' | 'gone'> {
    // The update waits for the escalation's workflow task: cut short when this activity is cancelled (its worker
    // shutting down, which would otherwise wait for it for good while no longer taking that task).
    const { cancellationSignal } = Context.current();
    const signal =
      withinMs === undefined
        ? cancellationSignal
        : AbortSignal.any([cancellationSignal, AbortSignal.timeout(withinMs)]);
    return client
      .withAbortSignal(signal, () =>
        client.workflow
          .getHandle(escalationWorkflowId(escalationId))
          // A repeated issue needs a root cause to be resolved: by default, what settled it.
          .executeUpdate(resolveUpdate, {
            args: [
              { actor: 'system', resolution: answer.resolution, rootCause: answer.rootCause ?? answer.resolution },
            ],
          }),
      )
      .then(
        () => 'resolved' as const,
        (error: unknown) => {
          if (error instanceof WorkflowUpdateFailedError) return 'resolved' as const;
          if (error instanceof WorkflowNotFoundError) return 'gone' as const;
          throw error;
        },
      );
  }

  return {
    /**
     * Resolves what is still open of an engagement that closes: a vendor that has left owes no answer, and an open
     * escalation would go on climbing to the council every day. The rows stay, resolved with the closure (a breach
     * found by the last reviews keeps its record and its credits). All at once, each given a few seconds: one whose
     * workflow does not answer is left open and logged, so the closure never waits on it; one whose workflow is gone
     * (terminated, or never started) has its row resolved here, as nothing else would.
     */
    async resolveOpenEscalations(input: {
      engagementId: string;
      resolution: string;
    }): Promise<{ resolved: number; leftOpen: number }> {
      const open = await prisma.escalation.findMany({
        where: { engagementId: input.engagementId, status: { not: 'RESOLVED' } },
        select: { id: true },
      });
      const answer = { resolution: input.resolution, rootCause: 'none found: the engagement closed' };
      const outcomes = await Promise.allSettled(
        open.map(async ({ id }) => {
          if ((await resolveByWorkflow(id, answer, CLOSING_SETTLE_MS)) === 'gone') {
            await prisma.escalation.updateMany({
              where: { id, status: { not: 'RESOLVED' } },
              data: {
                status: 'RESOLVED',
                resolvedAt: new Date(),
                resolution: answer.resolution,
                rootCause: answer.rootCause,
              },
            });
            // A raise that stored its row just before the closure may start its workflow just now. Asked again after
            // the row is resolved: a workflow started before this is resolved through it (or terminated, not
            // answering in time); one started after finds the row resolved and is stopped by the raise
            // (openEscalation). Either way the escalation is resolved: a terminate that fails is logged, not counted
            // as left open.
            await endResolvedWorkflow(client, id, answer, CLOSING_SETTLE_MS).catch((error: unknown) =>
              log.warn('the workflow of an escalation resolved at closing could not be stopped', {
                engagementId: input.engagementId,
                escalationId: id,
                error: String(error),
              }),
            );
          }
        }),
      );
      if (Context.current().cancellationSignal.aborted) throw new Error('cancelled while closing');
      const failed = outcomes.flatMap((o, i) =>
        o.status === 'rejected' ? [{ id: open[i].id, error: String(o.reason) }] : [],
      );
      for (const { id, error } of failed)
        log.warn('an escalation did not answer when its engagement closed: left open', {
          engagementId: input.engagementId,
          escalationId: id,
          error,
        });
      return { resolved: open.length - failed.length, leftOpen: failed.length };
    },

    /** Starts the engagement's recurring reviews (a repeat finds the running ones). */
    async startGovernance(input: { engagementId: string; startAt: string }): Promise<void> {
      const e = await prisma.engagement.findUniqueOrThrow({ where: { id: input.engagementId } });
      const args: GovernanceInput = {
        engagementId: e.id,
        vendorId: e.vendorId,
        timeZone: e.timeZone,
        cadences: shortestCadenceFirst(e.reviewCadences),
        graceSeconds: e.reviewGraceSeconds,
        startAt: input.startAt,
      };
      await client.workflow.start('governance', {
        workflowId: governanceWorkflowId(e.id),
        taskQueue,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        args: [args],
      });
    },

    async stopGovernance(input: { engagementId: string }): Promise<void> {
      await client.workflow
        .getHandle(governanceWorkflowId(input.engagementId))
        .terminate('engagement closed')
        .catch(ignoreNotFound);
    },

    /**
     * Waits for the engagement's transition started on its own (POST /engagements/:id/transition), which the
     * lifecycle found running or finished under its id, and answers how it ended. Only lifecycles from before the
     * patch `standalone-transition-awaited-without-an-activity` call it (they wait in it on replay). Heartbeats while
     * it waits, so a
     * worker that dies hands the wait to another; a cancelled lifecycle stage cancels the wait.
     */
    async awaitTransition(input: { engagementId: string }): Promise<string> {
      const handle = client.workflow.getHandle(transitionWorkflowId(input.engagementId));
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat(), 10_000);
      try {
        for (;;) {
          // Follows its continue-as-new runs to the last one's close. A run that failed, was cancelled or terminated
          // ends the wait too; any other error (Temporal briefly unreachable) fails this attempt, which is retried.
          await Promise.race([handle.result(), context.cancelled]).catch((error: unknown) => {
            if (!(error instanceof WorkflowFailedError)) throw error;
          });
          const { status } = await handle.describe();
          if (status.name !== 'RUNNING') return status.name;
        }
      } finally {
        clearInterval(beat);
      }
    },

    /**
     * How the engagement's transition started on its own stands: its latest run's status (RUNNING, COMPLETED,
     * FAILED, TERMINATED…), or NOT_FOUND once Temporal has forgotten it. One describe: the lifecycle asks again on its
     * own timer, and the transition signals its end, so no activity slot is held while a transition runs.
     */
    async transitionStatus(input: { engagementId: string }): Promise<string> {
      try {
        return (await client.workflow.getHandle(transitionWorkflowId(input.engagementId)).describe()).status.name;
      } catch (error) {
        ignoreNotFound(error);
        return 'NOT_FOUND';
      }
    },

    /**
     * Resolves, as the system, the escalation the lifecycle raised under `key` once what it was about is done (the
     * renewal decided, the exit step completed), so it stops climbing and reminding. Nothing to do when none was
     * raised, or it is resolved already, or its workflow has ended.
     */
    settleEscalation,

    /**
     * Cancels that transition (termination for cause stops the ramp, as it cancels the lifecycle's own child), and
     * returns once it has ended: the write of the activity it was running then lands before the lifecycle cancels the
     * open phases, not after.
     */
    async cancelTransition(input: { engagementId: string }): Promise<void> {
      const handle = client.workflow.getHandle(transitionWorkflowId(input.engagementId));
      try {
        await handle.cancel();
      } catch (error) {
        ignoreNotFound(error); // none, or closed already
        return;
      }
      // Bounded (the transition's running activity ends within its own timeout, its write with it): a transition that
      // has not ended by then is left to end on its own, rather than holding this activity and the termination. Asked
      // by describing it (a long poll on its result would also wait out a continue-as-new chain).
      const deadline = Date.now() + CANCELLED_TRANSITION_WAIT_MS;
      const { cancellationSignal } = Context.current();
      while (
        !cancellationSignal.aborted &&
        (await handle.describe()).status.name === 'RUNNING' &&
        Date.now() < deadline
      )
        await new Promise((resolve) => setTimeout(resolve, 100));
      // Cut short (its worker stopping): retried, rather than reported as waited for.
      cancellationSignal.throwIfAborted();
    },

    /**
     * The renewal scorecard over the term and its recommendation, stored once per term. A transition overrun the
     * lifecycle escalated is answered now, if still open: the run that raised it settles it when the transition ends,
     * but a run started again after it (an operator terminated it) does not know it was raised.
     */
    async evaluateRenewal(input: {
      engagementId: string;
      termStart: string;
      termEnd: string;
    }): Promise<Recommendation & { scorecard: RenewalScorecard; decided?: StoredRenewalDecision }> {
      // (At most a few seconds, and never failing the evaluation: an escalation workflow that does not answer must not
      // hold the renewal and its deadline.)
      await settleEscalation(
        {
          engagementId: input.engagementId,
          key: lifecycleEscalationKeys.transitionOverrun(input.termEnd),
          resolution: 'the transition has ended: the renewal is evaluated now',
        },
        OVERRUN_SETTLE_MS,
      ).catch((error: unknown) => {
        if (Context.current().cancellationSignal.aborted) throw error;
        log.warn('the transition-overrun escalation could not be answered at the renewal evaluation', {
          engagementId: input.engagementId,
          error: String(error),
        });
      });
      const termEnd = new Date(input.termEnd);
      const stored = await prisma.renewalEvaluation.findUnique({
        where: { engagementId_termEnd: { engagementId: input.engagementId, termEnd } },
      });
      if (stored)
        return {
          recommendation: stored.recommendation,
          reasons: stored.reasons,
          scorecard: stored.scorecard as unknown as RenewalScorecard,
          // Decided already (by a run of the lifecycle stopped since): the run started again carries it out.
          ...(stored.decision && {
            decided: {
              decision: stored.decision,
              decidedBy: stored.decidedBy ?? 'contract',
              // (Decided before the column: by the contract or by an executive.)
              via: (stored.decidedVia ??
                (stored.decidedBy === 'contract' ? 'contract default' : 'executive')) as StoredRenewalDecision['via'],
              ...(stored.decisionReason !== null && { reason: stored.decisionReason }),
              ...(stored.newMonthlyFee !== null && { newMonthlyFee: stored.newMonthlyFee.toFixed(2) }),
            },
          }),
        };

      const range = { gte: new Date(input.termStart), lt: termEnd };
      const e = await prisma.engagement.findUniqueOrThrow({
        where: { id: input.engagementId },
        include: { vendor: { include: { certifications: true } } },
      });
      const monthly = await prisma.review.findMany({
        where: { engagementId: e.id, cadence: 'MONTHLY', periodStart: range },
        orderBy: { periodStart: 'asc' },
      });
      const byKpi: Record<string, { met: number; held: number; total: number }> = {};
      for (const review of monthly) {
        for (const k of (review.scorecard as { kpis?: Array<{ key: string; status: string }> }).kpis ?? []) {
          byKpi[k.key] ??= { met: 0, held: 0, total: 0 };
          byKpi[k.key].total++;
          if (k.status === 'met') byKpi[k.key].met++;
          if (k.status === 'met' || k.status === 'at_risk') byKpi[k.key].held++;
        }
      }
      const totals = Object.values(byKpi).reduce(
        (a, b) => ({ met: a.met + b.met, held: a.held + b.held, total: a.total + b.total }),
        { met: 0, held: 0, total: 0 },
      );
      const escalations = await prisma.escalation.findMany({ where: { engagementId: e.id, raisedAt: range } });
      const medianResolveHours = median(
        escalations
          .filter((x) => x.resolvedAt)
          .map((x) => (x.resolvedAt!.getTime() - x.raisedAt.getTime()) / 3_600_000),
      );
      const nextTermEnd = new Date(nextTerm(input.termStart, termEnd.toISOString()).termEnd);
      const scorecard: RenewalScorecard = {
        attainmentPct: totals.total ? Math.round((totals.met / totals.total) * 1000) / 10 : null,
        minimumHeldPct: totals.total ? Math.round((totals.held / totals.total) * 1000) / 10 : null,
        attainmentByKpi: Object.fromEntries(
          Object.entries(byKpi).map(([k, v]) => [k, Math.round((v.met / v.total) * 1000) / 10]),
        ),
        recentScores: monthly.slice(-6).map((r) => r.overallScore?.toNumber() ?? 0),
        creditsPaid: monthly.reduce((sum, r) => sum.plus(r.creditsTotal), new Prisma.Decimal(0)).toFixed(2),
        escalationsBySeverity: escalations.reduce<Record<string, number>>(
          (acc, x) => ({ ...acc, [x.severity]: (acc[x.severity] ?? 0) + 1 }),
          {},
        ),
        medianHoursToResolve: medianResolveHours === null ? null : Math.round(medianResolveHours * 10) / 10,
        openActionItems: await prisma.actionItem.count({ where: { engagementId: e.id, status: 'OPEN' } }),
        certificationsExpiring: e.vendor.certifications
          .filter((c) => c.expiresOn < nextTermEnd)
          .map((c) => `${c.kind} (${c.expiresOn.toISOString().slice(0, 10)})`),
      };
      const recommendation = recommendRenewal(scorecard);
      await prisma.renewalEvaluation
        .create({
          data: {
            engagementId: e.id,
            termEnd,
            recommendation: recommendation.recommendation,
            reasons: recommendation.reasons,
            scorecard: scorecard as unknown as Prisma.InputJsonValue,
          },
        })
        .catch(ignoreDuplicate);
      return { ...recommendation, scorecard };
    },

    async recordRenewalDecision(input: {
      engagementId: string;
      termEnd: string;
      decision: RenewalDecisionKind;
      decidedBy: string;
      via: string;
      reason?: string;
      newMonthlyFee?: string;
      at: string;
    }) {
      const termEnd = new Date(input.termEnd);
      await prisma.renewalEvaluation.updateMany({
        where: { engagementId: input.engagementId, termEnd, decision: null },
        data: {
          decision: input.decision,
          decidedBy: input.decidedBy,
          decidedAt: new Date(input.at),
          decidedVia: input.via,
          decisionReason: input.reason ?? null,
          newMonthlyFee: input.newMonthlyFee ?? null,
        },
      });
      await audit({
        actor: input.decidedBy,
        action: 'renewal.decide',
        entityId: input.engagementId,
        after: { decision: input.decision, via: input.via, reason: input.reason ?? null, termEnd: input.termEnd },
        key: `${input.engagementId}/renewal/${input.termEnd}`,
      });
    },

    /** Opens the next term (renewal or renegotiation), once. */
    async openNewTerm(input: {
      engagementId: string;
      termStart: string;
      termEnd: string;
      monthlyFee?: string;
      actor: string;
    }) {
      const e = await prisma.engagement.findUniqueOrThrow({ where: { id: input.engagementId } });
      // A retry after the update finds the term open and still writes the audit row (once: it is keyed).
      if (e.termEnd.toISOString() !== new Date(input.termEnd).toISOString()) {
        const newFee = input.monthlyFee && !e.monthlyFee.equals(input.monthlyFee) ? input.monthlyFee : undefined;
        await prisma.$transaction([
          // The months of the term that ends are still reviewed after this (their grace runs into the new term):
          // they keep the fee billed for them.
          ...(newFee
            ? [
                prisma.monthlyFeeChange.create({
                  data: {
                    engagementId: e.id,
                    effectiveFrom: new Date(input.termStart),
                    previousMonthlyFee: e.monthlyFee,
                    monthlyFee: newFee,
                    changedBy: input.actor,
                  },
                }),
              ]
            : []),
          prisma.engagement.update({
            where: { id: input.engagementId },
            data: {
              termStart: new Date(input.termStart),
              termEnd: new Date(input.termEnd),
              ...(newFee && { monthlyFee: newFee }),
              // The new term opens in steady state, with the term itself: stage moves never go back otherwise.
              ...(e.stage === 'RENEWAL' && { stage: 'STEADY_STATE' as const }),
            },
          }),
          ...(e.stage === 'RENEWAL'
            ? [
                prisma.stageChange.create({
                  data: {
                    engagementId: e.id,
                    fromStage: 'RENEWAL',
                    toStage: 'STEADY_STATE',
                    idempotencyKey: `${e.id}/term/${input.termEnd}/opened`,
                    occurredAt: new Date(input.termStart),
                  },
                }),
              ]
            : []),
        ]);
      }
      await audit({
        actor: input.actor,
        action: 'engagement.new-term',
        entityId: input.engagementId,
        after: { termStart: input.termStart, termEnd: input.termEnd, monthlyFee: input.monthlyFee ?? null },
        key: `${input.engagementId}/term/${input.termEnd}`,
      });
    },

    async createExitPlan(input: {
      engagementId: string;
      reason: string;
      forCause: boolean;
      steps: ExitStepPlan[];
      at: string;
      /** Who decided the exit: the executive who terminated for cause or decided the renewal, or the contract. */
      actor?: string;
      /** The engagement's zone, in which each step's due instant ends its due day; without it, the UTC date. */
      timeZone?: string;
    }) {
      const day = (dueOn: string) => new Date(input.timeZone ? dueDay(dueOn, input.timeZone) : dueOn);
      if (!(await prisma.exitPlan.findUnique({ where: { engagementId: input.engagementId } }))) {
        await prisma.exitPlan
          .create({
            data: {
              engagementId: input.engagementId,
              reason: input.reason,
              forCause: input.forCause,
              startedAt: new Date(input.at),
              steps: {
                create: input.steps.map((s) => ({
                  kind: s.kind,
                  owner: s.owner,
                  dueOn: day(s.dueOn),
                  dueAt: new Date(s.dueOn),
                })),
              },
            },
          })
          .catch(ignoreDuplicate);
      }
      await audit({
        actor: input.actor ?? 'contract',
        action: input.forCause ? 'engagement.terminate-for-cause' : 'exit.start',
        entityId: input.engagementId,
        after: { reason: input.reason, forCause: input.forCause, steps: input.steps.map((s) => s.kind) },
        key: `${input.engagementId}/exit`,
      });
    },

    async completeExitStep(input: {
      engagementId: string;
      kind: ExitStepPlan['kind'];
      completedBy: string;
      evidence?: string;
      at: string;
    }) {
      const plan = await prisma.exitPlan.findUniqueOrThrow({ where: { engagementId: input.engagementId } });
      await prisma.exitStep.updateMany({
        where: { planId: plan.id, kind: input.kind, completedAt: null },
        data: { completedAt: new Date(input.at), completedBy: input.completedBy, evidence: input.evidence },
      });
      await audit({
        actor: input.completedBy,
        action: 'exit.step.complete',
        entityId: input.engagementId,
        after: { kind: input.kind, evidence: input.evidence ?? null },
        key: `${input.engagementId}/exit/${input.kind}`,
      });
    },

    async completeExitPlan(input: { engagementId: string; at: string }) {
      await prisma.exitPlan.updateMany({
        where: { engagementId: input.engagementId, completedAt: null },
        data: { completedAt: new Date(input.at) },
      });
    },
  };
}

/**
 * How long cancelling a transition started on its own waits for it to end, inside this activity's own 15 s timeout.
 * A transition activity running longer (their timeout is 30 s) finds its phase cancelled and writes nothing.
 */
const CANCELLED_TRANSITION_WAIT_MS = 10_000;

/** A workflow already gone is what stopping or cancelling it wanted. */
function ignoreNotFound(error: unknown): void {
  if (!(error instanceof WorkflowNotFoundError)) throw error;
}

/** A renewal decision as recorded for a term: what a lifecycle started again after it carries out. */
export interface StoredRenewalDecision {
  decision: RenewalDecisionKind;
  decidedBy: string;
  via: 'executive' | 'auto-renew clause' | 'contract default';
  reason?: string;
  newMonthlyFee?: string;
}
