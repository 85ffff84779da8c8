import { status } from '@grpc/grpc-js';
import { newId } from '../src/ids';
import { grpcCode } from '../src/temporal/grpc';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { queryOnPool, type PrismaClient } from '../src/db';
import { Prisma } from '../src/generated/prisma/client';
import { DEFAULT_ESCALATION_POLICIES } from '../src/domain/defaults';
import {
  escalationIdempotencyKey,
  escalationNotice,
  escalationWorkflowId,
  REPEAT_THRESHOLD,
  REPEAT_WINDOW_DAYS,
  type SeverityPolicies,
} from '../src/domain/escalation';
import type { Severity } from '../src/domain/types';
import {
  CLOCK_STEPS,
  resolveUpdate,
  type EscalationInput,
  type EscalationState,
  type EscalationStepRecord,
} from '../workflows/escalation.messages';
import type { Notify } from './notifications';

interface RaisedRow {
  id: string;
  severity: Severity;
  title: string;
  category: string;
  raisedAt: Date;
  requiresRootCause: boolean;
  description: string;
  /** The severity it was raised with (a re-grade since changes `severity`, not this). */
  raisedSeverity: Severity;
  /** This call inserted it (false: the key had raised it before). */
  created: boolean;
  /** OPEN for one this call inserted; a raised one's stored status (RESOLVED: its workflow has ended). */
  status: string;
  timeZone: string;
  /** The engagement has an exit plan: a closure may resolve the row before its workflow starts. */
  exiting: boolean;
  levels: Array<{ level: number; role: string; contactName: string; contactEmail: string }>;
  policies: Array<{ severity: Severity; acknowledgeSeconds: number; resolveSeconds: number; businessHours: boolean }>;
}

export interface OpenEscalationInput {
  engagementId: string;
  severity: Severity;
  category: string;
  title: string;
  description: string;
  raisedBy: string;
  raisedAt: string;
  /** Business key of the event that raised it: the same key never opens a second escalation. */
  key: string;
  /** A person's Idempotency-Key: sent again with another title, category or description, it is refused. */
  refuseAnotherUnderKey?: boolean;
  /**
   * A request, which no one retries for it: when the workflow cannot be started because Temporal cannot be reached,
   * the row this call inserted is taken back, so the refused request leaves no escalation that would never climb
   * (a start that timed out keeps it: it may have started). An activity keeps its row: its retry starts the workflow.
   */
  undoUnstarted?: boolean;
}

/**
 * Records an escalation and starts the workflow that makes it climb. Idempotent on the key (row) and on the
 * workflow id (USE_EXISTING). Used by workflows (as an activity) and by the API alike.
 */
export async function openEscalation(
  prisma: PrismaClient,
  client: Client,
  taskQueue: string,
  input: OpenEscalationInput,
  notify?: Notify,
): Promise<{ escalationId: string; workflowId: string; created: boolean }> {
  const idempotencyKey = escalationIdempotencyKey(input.engagementId, input.key);
  const raisedAt = new Date(input.raisedAt);
  const since = new Date(raisedAt.getTime() - REPEAT_WINDOW_DAYS * 86_400_000);
  const id = newId();
  // Times are sent, not left to the database's defaults: a server outside UTC would store its local time.
  const now = new Date();
  // The row as created, for the audit entry; whether a root cause is required is only known to the statement.
  const after = {
    id,
    engagementId: input.engagementId,
    severity: input.severity,
    category: input.category,
    title: input.title,
    description: input.description,
    status: 'OPEN',
    currentLevel: 1,
    assignee: null,
    raisedBy: input.raisedBy,
    raisedAt,
    acknowledgedAt: null,
    resolvedAt: null,
    resolution: null,
    rootCause: null,
    idempotencyKey,
  };
  // One statement, so one implicit transaction: the escalation is inserted once per key, and only the attempt that
  // inserted it writes its first step and the audit entry; a retry gets the stored escalation back. The same
  // statement reads what the workflow needs from the engagement (a missing one fails on the foreign key).
  // Nothing new is raised once the engagement's exit is complete (it is closing): the exit plan's row is locked for
  // the statement, so closing, which completes the plan and then resolves what is open, either waits for this raise
  // and finds it, or completes the plan first and this raise is refused.
  const raise = async () =>
    (
      await queryOnPool<RaisedRow>(
        prisma,
        'raise-escalation',
        Prisma.sql`
    WITH closing AS (
      SELECT p."completedAt" FROM "ExitPlan" p WHERE p."engagementId" = ${input.engagementId}::uuid FOR SHARE
    ), existing AS (
      SELECT x."id", x."severity", x."title", x."category", x."raisedAt", x."requiresRootCause", x."description",
             COALESCE((SELECT (a."after"->>'severity')::"Severity" FROM "AuditLog" a
                        WHERE a."entityType" = 'Escalation' AND a."entityId" = x."id"::text
                          AND a."action" = 'escalation.raise' LIMIT 1), x."severity") AS "raisedSeverity",
             false AS "created", x."status"::text AS "status"
      FROM "Escalation" x WHERE x."idempotencyKey" = ${idempotencyKey}
    ), created AS (
      INSERT INTO "Escalation" ("id", "engagementId", "severity", "category", "title", "description", "raisedBy",
                                "raisedAt", "idempotencyKey", "requiresRootCause")
      SELECT ${id}::uuid, ${input.engagementId}::uuid, ${input.severity}::"Severity", ${input.category},
             ${input.title}, ${input.description}, ${input.raisedBy}, ${raisedAt}, ${idempotencyKey},
             (SELECT count(*) FROM "Escalation"
               WHERE "engagementId" = ${input.engagementId}::uuid AND "category" = ${input.category}
                 AND "raisedAt" >= ${since}) + 1 >= ${REPEAT_THRESHOLD}
      WHERE NOT EXISTS (SELECT FROM existing) AND NOT EXISTS (SELECT FROM closing WHERE "completedAt" IS NOT NULL)
      ON CONFLICT ("idempotencyKey") DO NOTHING
      RETURNING "id", "severity", "title", "category", "raisedAt", "requiresRootCause", "description",
                "severity" AS "raisedSeverity", true AS "created", "status"::text AS "status"
    ), step AS (
      INSERT INTO "EscalationStep" ("id", "escalationId", "level", "action", "actor", "note", "idempotencyKey",
                                    "occurredAt")
      SELECT ${newId()}::uuid, "id", 1, 'raised', ${input.raisedBy}, ${input.description},
             ${`${idempotencyKey}/raised`}, ${now}
      FROM created
    ), audit AS (
      INSERT INTO "AuditLog" ("id", "actor", "action", "entityType", "entityId", "after", "at")
      SELECT ${newId()}::uuid, ${input.raisedBy}, 'escalation.raise', 'Escalation', ${id},
             jsonb_set(${JSON.stringify(after)}::jsonb, '{requiresRootCause}', to_jsonb("requiresRootCause")), ${now}
      FROM created
    ), escalation AS (
      SELECT * FROM created UNION ALL SELECT * FROM existing
    )
    SELECT escalation.*, e."timeZone", EXISTS (SELECT FROM closing) AS "exiting",
      (SELECT COALESCE(json_agg(json_build_object('level', l."level", 'role', l."role",
                 'contactName', l."contactName", 'contactEmail', l."contactEmail") ORDER BY l."level"), '[]')
         FROM "EscalationLevel" l WHERE l."engagementId" = e."id") AS "levels",
      (SELECT COALESCE(json_agg(json_build_object('severity', p."severity",
                 'acknowledgeSeconds', p."acknowledgeSeconds", 'resolveSeconds', p."resolveSeconds",
                 'businessHours', p."businessHours")), '[]')
         FROM "EscalationPolicy" p WHERE p."engagementId" = e."id") AS "policies"
    FROM escalation JOIN "Engagement" e ON e."id" = ${input.engagementId}::uuid`,
      )
    ).rows;
  // A concurrent twin that inserted first is not seen by this statement's snapshot: asked again, it is found.
  const raised = await raise();
  const [escalation] = raised.length ? raised : await raise();
  if (!escalation) {
    const exit = await prisma.exitPlan.findUnique({ where: { engagementId: input.engagementId } });
    if (exit?.completedAt) throw new EngagementClosing(input.engagementId);
    throw new Error(`engagement ${input.engagementId} not found`);
  }
  // The API's key raised another escalation before: a retry is harmless, another issue under the same key is not.
  if (input.refuseAnotherUnderKey && !escalation.created && anotherIssue(escalation, input)) {
    throw new EscalationKeyReused(escalation.id);
  }
  const policies = Object.fromEntries(
    DEFAULT_ESCALATION_POLICIES.map((d) => {
      const own = escalation.policies.find((p) => p.severity === d.severity);
      const p = own ?? d;
      return [
        d.severity,
        { acknowledgeSeconds: p.acknowledgeSeconds, resolveSeconds: p.resolveSeconds, businessHours: p.businessHours },
      ];
    }),
  ) as SeverityPolicies;
  const workflowId = escalationWorkflowId(escalation.id);
  // Resolved: its workflow has run to its end. A retry under its key (an alert sent again) gets it back and starts
  // nothing; it used to start the workflow again from the first raise, climbing and reminding a closed escalation.
  if (!escalation.created && escalation.status === 'RESOLVED') {
    // (Resolved in place by a closure while a raise was starting its workflow, which this call's first try may have
    // failed to stop: stopped now.)
    if (escalation.exiting) await stopIfResolved(prisma, client, escalation.id);
    return { escalationId: escalation.id, workflowId, created: false };
  }
  const levels = escalation.levels.length
    ? escalation.levels
    : [{ level: 1, role: 'program manager', contactName: 'Program manager', contactEmail: '' }];
  const workflowInput: EscalationInput = {
    escalationId: escalation.id,
    engagementId: input.engagementId,
    severity: escalation.severity,
    title: escalation.title,
    category: escalation.category,
    raisedAt: escalation.raisedAt.toISOString(),
    timeZone: escalation.timeZone,
    levels,
    policies,
    requiresRootCause: escalation.requiresRootCause,
  };
  // The first level hears of it from here when the notifiers answer (once per event key, so a retried raise sends
  // nothing more); otherwise the workflow sends the notice, with retries of its own.
  const first = { stepNumber: 1, level: 1, severity: escalation.severity, status: 'OPEN' };
  const raisedNotice = escalationNotice(workflowInput, levels, first, 'raised');
  if (notify)
    workflowInput.announced = await notify(raisedNotice).then(
      () => true,
      () => false,
    );
  // Raised before and not resolved: its workflow is running (the start below finds it), or it failed or was
  // terminated (or never started), and the one started now goes on from the stored steps rather than from the
  // raise. Its steps are then numbered after theirs (a step under a stored number would be dropped as a repeat, its
  // change with it), and it climbs from the level and status reached. A run taking up sends no first notice of its
  // own: the raise's goes with it, carried (once per event key, as always).
  if (!escalation.created) {
    workflowInput.resume = await storedEscalationState(prisma, escalation.id);
    if (!workflowInput.announced) workflowInput.notices = [raisedNotice];
  }
  try {
    await client.workflow.start('escalation', {
      workflowId,
      taskQueue,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      // A run that completed (resolved meanwhile) is not run again; one that failed or was terminated is.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      args: [workflowInput],
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      return { escalationId: escalation.id, workflowId, created: escalation.created };
    }
    // Only a start that never reached Temporal is taken back. One that timed out may still have started the
    // workflow, which would then climb an escalation with no row: the row stays, a retry under the same key finds it
    // (and starts the workflow if it is missing), and so does the workers' sweep for escalations without one.
    if (input.undoUnstarted && escalation.created && neverReachedTemporal(error)) {
      // Its first step goes with it (cascade), and the audit entry of a raise that did not happen.
      await queryOnPool(
        prisma,
        'undo-unstarted-escalation',
        Prisma.sql`
        WITH audit AS (
          DELETE FROM "AuditLog"
          WHERE "entityType" = 'Escalation' AND "entityId" = ${escalation.id} AND "action" = 'escalation.raise'
        )
        DELETE FROM "Escalation" WHERE "id" = ${escalation.id}::uuid`,
      ).catch(() => undefined);
    }
    throw error;
  }
  // Raised just as its engagement closed: the closure found the row without a workflow and resolved it in place, and
  // the workflow started now would climb an escalation that is resolved. It is stopped. (Closing asks for the
  // workflow again after resolving the row, so one of the two sees the other.)
  if (escalation.exiting) await stopIfResolved(prisma, client, escalation.id);
  return { escalationId: escalation.id, workflowId, created: escalation.created };
}

/** How long a raise waits for the workflow of an escalation resolved in place to take the resolution. */
const STOP_RESOLVED_WITHIN_MS = 5_000;

/**
 * The workflow of an escalation whose row is resolved (by a closure, in place) brought to its end: resolved through
 * the workflow with the row's own resolution, or terminated (`endResolvedWorkflow`). Nothing is done while the row is
 * open.
 */
async function stopIfResolved(prisma: PrismaClient, client: Client, escalationId: string): Promise<void> {
  const row = await prisma.escalation.findUnique({
    where: { id: escalationId },
    select: { status: true, resolution: true, rootCause: true },
  });
  if (row?.status !== 'RESOLVED') return;
  const resolution = row.resolution ?? 'resolved as its engagement closed';
  await endResolvedWorkflow(
    client,
    escalationId,
    { resolution, rootCause: row.rootCause ?? resolution },
    STOP_RESOLVED_WITHIN_MS,
  );
}

/**
 * Ends the workflow of an escalation whose row is already resolved: the resolution is sent through it (a workflow
 * already resolved refuses it, one that has ended is not found: nothing to do), and a workflow that does not take it
 * within `withinMs` is terminated. Each call has a deadline of its own: one the caller set (the API's, counted from
 * the request) would cut the wait short, and leave none for the terminate. Throws when the terminate fails.
 */
export async function endResolvedWorkflow(
  client: Client,
  escalationId: string,
  answer: { resolution: string; rootCause: string },
  withinMs: number,
): Promise<void> {
  const handle = client.workflow.getHandle(escalationWorkflowId(escalationId));
  try {
    await client.withDeadline(Date.now() + withinMs, () =>
      handle.executeUpdate(resolveUpdate, { args: [{ actor: 'system', ...answer }] }),
    );
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError || error instanceof WorkflowNotFoundError) return;
    await client
      .withDeadline(Date.now() + withinMs, () =>
        handle.terminate('resolved in place as its engagement closed; its workflow did not take the resolution'),
      )
      .catch((e: unknown) => {
        if (!(e instanceof WorkflowNotFoundError)) throw e;
      });
  }
}

/**
 * The number of an escalation step `s`, from its key (`<escalation id>/step-N`); null for the raise, whose key is the
 * escalation's own followed by `/raised`.
 */
const STEP_NUMBER = Prisma.sql`substring(s."idempotencyKey" from '/step-([0-9]+)$')::int`;

/**
 * An escalation's state as its stored row and steps tell it, for a workflow that takes it up. A step whose write had
 * not landed when its run ended is lost with that run.
 */
async function storedEscalationState(prisma: PrismaClient, escalationId: string): Promise<EscalationState> {
  const {
    rows: [row],
  } = await queryOnPool<Omit<EscalationState, 'levelSince' | 'nextClimbAt'> & { skippedSteps: number }>(
    prisma,
    'stored-escalation-state',
    Prisma.sql`
    SELECT x."id" AS "escalationId", x."status"::text AS "status", x."severity"::text AS "severity",
           x."currentLevel" AS "level", x."requiresRootCause", x."assignee",
           COALESCE((SELECT json_agg(json_strip_nulls(json_build_object(
                       'level', s."level", 'action', s."action", 'actor', s."actor", 'note', s."note",
                       -- (the raise's time is the escalation's, as a run started by the raise has it)
                       'at', to_char(CASE WHEN s."action" = 'raised' THEN x."raisedAt" ELSE s."occurredAt" END,
                                     'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
                     -- the raise is step 1
                     ORDER BY COALESCE(${STEP_NUMBER}, 1))
                     FROM "EscalationStep" s WHERE s."escalationId" = x."id"), '[]') AS "steps",
           (SELECT COALESCE(max(COALESCE(${STEP_NUMBER}, 1)), 1)::int - count(*)::int
              FROM "EscalationStep" s WHERE s."escalationId" = x."id") AS "skippedSteps"
    FROM "Escalation" x WHERE x."id" = ${escalationId}::uuid`,
  );
  const { assignee, skippedSteps, ...state } = row;
  // The level's clock started at the last step that sets it (as the workflow keeps it).
  const clock = state.steps.filter((s) => CLOCK_STEPS.has(s.action)).at(-1);
  return {
    ...state,
    ...(assignee !== null && { assignee }),
    ...(skippedSteps > 0 && { skippedSteps }),
    levelSince: clock?.at ?? state.steps[0].at,
    nextClimbAt: null,
  };
}

/** The call failed before Temporal had it: no connection (gRPC UNAVAILABLE), not a deadline passed on the way. */
function neverReachedTemporal(error: unknown): boolean {
  const code = grpcCode(error);
  if (code !== undefined) return code === status.UNAVAILABLE;
  return /UNAVAILABLE|ECONNREFUSED|Failed to connect/i.test(error instanceof Error ? error.message : String(error));
}

/**
 * The escalation raised before under `key` (as `openEscalation` is given it), without raising or starting anything:
 * null when none was. One that another issue raised under the key is refused as `openEscalation` refuses it.
 */
export async function raisedUnderKey(
  prisma: PrismaClient,
  input: Pick<OpenEscalationInput, 'engagementId' | 'key' | 'severity' | 'title' | 'category' | 'description'>,
): Promise<{ escalationId: string; workflowId: string } | null> {
  const escalation = await prisma.escalation.findUnique({
    where: { idempotencyKey: escalationIdempotencyKey(input.engagementId, input.key) },
  });
  if (!escalation) return null;
  const raise = await prisma.auditLog.findFirst({
    where: { entityType: 'Escalation', entityId: escalation.id, action: 'escalation.raise' },
    select: { after: true },
  });
  const raisedSeverity = (raise?.after as { severity?: Severity } | null)?.severity ?? escalation.severity;
  if (anotherIssue({ ...escalation, raisedSeverity }, input)) throw new EscalationKeyReused(escalation.id);
  return { escalationId: escalation.id, workflowId: escalationWorkflowId(escalation.id) };
}

/** Whether an escalation raised under a key (with the severity it was raised at) is another issue than `input`. */
function anotherIssue(
  raised: { raisedSeverity: string; title: string; category: string; description: string },
  input: Pick<OpenEscalationInput, 'severity' | 'title' | 'category' | 'description'>,
): boolean {
  return (
    raised.raisedSeverity !== input.severity ||
    raised.title !== input.title ||
    raised.category !== input.category ||
    raised.description !== input.description
  );
}

/**
 * The engagement's exit is complete: it is closing, or closed, and nothing new is escalated on it. Not retried when a
 * workflow's activity meets it: asking again would not change the answer.
 */
export class EngagementClosing extends ApplicationFailure {
  constructor(readonly engagementId: string) {
    super(
      `engagement ${engagementId} has completed its exit: nothing can be escalated on it`,
      'EngagementClosing',
      true,
    );
  }
}

/** An idempotency key sent again with another escalation's severity, title, category or description. */
export class EscalationKeyReused extends Error {
  constructor(readonly escalationId: string) {
    super(
      `this idempotency key raised escalation ${escalationId}, with another severity, title, category or description`,
    );
    this.name = 'EscalationKeyReused';
  }
}

/** Steps a person took (or a changed severity): each is also written to the audit log. */
const AUDITED_STEPS = ['acknowledged', 'resolved', 'reassigned', 'severity-changed'];

/** `notify`, when given, lets a raise send its first notice itself. */
export function createEscalationActivities(prisma: PrismaClient, client: Client, taskQueue: string, notify?: Notify) {
  return {
    async raiseEscalation(input: OpenEscalationInput): Promise<{ escalationId: string }> {
      const { escalationId } = await openEscalation(prisma, client, taskQueue, input, notify);
      return { escalationId };
    },

    /** Records one step of an escalation's history and the escalation's new state, once per step number. */
    async recordEscalationStep(input: {
      escalationId: string;
      stepNumber: number;
      step: EscalationStepRecord;
      update: {
        status?: 'OPEN' | 'ACKNOWLEDGED' | 'RESOLVED';
        currentLevel?: number;
        severity?: Severity;
        assignee?: string;
        resolution?: string;
        rootCause?: string;
      };
    }): Promise<void> {
      const idempotencyKey = `${input.escalationId}/step-${input.stepNumber}`;
      const at = new Date(input.step.at);
      const { status, currentLevel, severity, assignee, resolution, rootCause } = input.update;
      const audited = AUDITED_STEPS.includes(input.step.action);
      // One statement, so one implicit transaction: the step is inserted once per step number, and only the
      // attempt that inserted it changes the escalation and writes the audit entry; a retry (or a concurrent twin)
      // finds the step there and changes nothing. Status and level only move forward (OPEN → ACKNOWLEDGED →
      // RESOLVED is the enum's order; levels only climb): an acknowledgement whose write was retried past the
      // resolution's does not reopen the escalation. A severity or an assignee is the latest step's: one whose write
      // was retried past a later re-grade's (or reassignment's) leaves that one's: the row keeps the number of the step
      // that set each, read as the row stands once this update holds its lock (a subquery would read the statement's
      // snapshot, and miss a later step committed while this one waited for the row). A missing escalation fails on
      // the step's foreign key.
      const n = Prisma.sql`${input.stepNumber}::int`;
      await queryOnPool(
        prisma,
        'record-escalation-step',
        Prisma.sql`
        WITH step AS (
          INSERT INTO "EscalationStep" ("id", "escalationId", "level", "action", "actor", "note", "occurredAt", "idempotencyKey")
          VALUES (${newId()}::uuid, ${input.escalationId}::uuid, ${input.step.level}::int, ${input.step.action},
                  ${input.step.actor}, ${input.step.note ?? null}, ${at}, ${idempotencyKey})
          ON CONFLICT ("idempotencyKey") DO NOTHING
          RETURNING 1
        ), escalation AS (
          UPDATE "Escalation" SET
            "status" = GREATEST(${status ?? null}::"EscalationStatus", "status"),
            "currentLevel" = GREATEST(${currentLevel ?? null}::int, "currentLevel"),
            "severity" = CASE WHEN "severityStep" > ${n} THEN "severity"
                              ELSE COALESCE(${severity ?? null}::"Severity", "severity") END,
            "severityStep" = CASE WHEN ${severity ?? null}::"Severity" IS NULL THEN "severityStep"
                                  ELSE GREATEST("severityStep", ${n}) END,
            "assignee" = CASE WHEN "assigneeStep" > ${n} THEN "assignee"
                              ELSE COALESCE(${assignee ?? null}, "assignee") END,
            "assigneeStep" = CASE WHEN ${assignee ?? null}::text IS NULL THEN "assigneeStep"
                                  ELSE GREATEST("assigneeStep", ${n}) END,
            "resolution" = COALESCE(${resolution ?? null}, "resolution"),
            "rootCause" = COALESCE(${rootCause ?? null}, "rootCause"),
            "acknowledgedAt" = COALESCE(${status === 'ACKNOWLEDGED' ? at : null}::timestamp(3), "acknowledgedAt"),
            "resolvedAt" = COALESCE(${status === 'RESOLVED' ? at : null}::timestamp(3), "resolvedAt")
          WHERE "id" = ${input.escalationId}::uuid AND EXISTS (SELECT FROM step)
        )
        INSERT INTO "AuditLog" ("id", "actor", "action", "entityType", "entityId", "after", "idempotencyKey", "at")
        SELECT ${newId()}::uuid, ${input.step.actor}, ${`escalation.${input.step.action}`}, 'Escalation',
               ${input.escalationId}, ${JSON.stringify({ ...input.update, note: input.step.note ?? null })}::jsonb,
               ${`audit/${idempotencyKey}`}, ${new Date()}
        WHERE ${audited} AND EXISTS (SELECT FROM step)`,
      );
    },
  };
}
