import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import { Prisma } from '../generated/prisma/client';
import { audit } from '../audit';
import { isUniqueViolation, type PrismaClient } from '../db';
import { actorOf, type Principal } from './auth';
import { periodAt, periodDates } from '../domain/calendar';
import { findVisibleEngagement } from './engagements';
import { conflict, ProblemError } from './problem';
import type { ApiRoutes } from './route';
import { idempotencyHeaders, idParams, kpiSubmissionBody, listMeasurementsQuery } from './schemas';
import type { z } from 'zod';
import type { MeasurementPeriod } from '../domain/types';

type Submission = z.infer<typeof kpiSubmissionBody>;

const UNIT_NAME: Record<MeasurementPeriod, string> = { WEEKLY: 'week', MONTHLY: 'month', QUARTERLY: 'quarter' };

interface SubmissionResult {
  submissionId: string | null;
  created: number;
  corrected: number;
  unchanged: number;
}

export function kpiRoutes(api: ApiRoutes, { prisma }: { prisma: PrismaClient }): void {
  api.route(
    {
      method: 'post',
      path: '/engagements/:id/kpi-submissions',
      summary: 'Submit KPI values for one period (bulk; idempotent; a changed value is a versioned correction)',
      tag: 'kpi',
      roles: ['VENDOR', 'PROGRAM_MANAGER'],
      params: idParams,
      body: kpiSubmissionBody,
      headers: idempotencyHeaders,
      responses: {
        201: 'Stored: new values and corrections',
        200: 'Nothing new: the same submission was already stored',
        404: 'No such engagement',
        409: 'The engagement is closed',
        422:
          'A KPI key is not an SLA of this engagement, the period has not begun, the period runs past the calendar ' +
          "week (Monday to Sunday), month or quarter a measurement's KPI is measured over, in the engagement's time " +
          'zone, or the Idempotency-Key was used for another submission',
      },
    },
    async ({ params, body, principal, req }) => {
      const engagement = await findVisibleEngagement(prisma, principal, params.id);
      const idempotencyKey = req.get('idempotency-key') || null;
      // A retry of a submission stored before the engagement closed still gets its answer.
      const retried = async () =>
        idempotencyKey !== null &&
        (await prisma.kpiSubmission.count({ where: { engagementId: params.id, idempotencyKey } })) > 0;
      if (engagement.stage === 'CLOSED' && !(await retried()))
        throw conflict('the engagement is closed: no review will read new KPI data');
      // A measurement describes a period that has begun (a week or a month to date is fine); one that has not cannot
      // have been measured, and would stand in for the real figure when its review runs.
      const today = DateTime.now().setZone(engagement.timeZone).toISODate()!;
      if (body.periodStart > today) {
        throw new ProblemError(
          422,
          'Unprocessable Content',
          `body.periodStart: ${body.periodStart} has not begun (today is ${today} in ${engagement.timeZone})`,
          [{ field: 'body.periodStart', reason: `must not be after today (${today} in ${engagement.timeZone})` }],
        );
      }
      // Concurrent identical submissions race on the unique keys; the loser retries and finds the winner's rows.
      for (let attempt = 1; ; attempt++) {
        try {
          const result = await storeSubmission(prisma, params.id, engagement.timeZone, body, principal, idempotencyKey);
          return { status: result.created + result.corrected > 0 ? 201 : 200, body: result };
        } catch (error) {
          if (!(isUniqueViolation(error) || isSerializationFailure(error)) || attempt >= 5) throw error;
        }
      }
    },
  );

  api.route(
    {
      method: 'get',
      path: '/engagements/:id/kpi-measurements',
      summary: 'Read KPI measurements, current versions by default, with their history on request',
      tag: 'kpi',
      roles: [],
      params: idParams,
      query: listMeasurementsQuery,
      responses: { 200: 'A page of measurements', 404: 'No such engagement' },
    },
    async ({ params, query, principal }) => {
      await findVisibleEngagement(prisma, principal, params.id);
      const where: Prisma.KpiMeasurementWhereInput = {
        engagementId: params.id,
        ...(query.kpiKey ? { sla: { key: query.kpiKey } } : {}),
        ...(query.includeSuperseded === 'true' ? {} : { supersededAt: null }),
        ...(query.from || query.to
          ? {
              periodStart: {
                ...(query.from && { gte: new Date(query.from) }),
                ...(query.to && { lte: new Date(query.to) }),
              },
            }
          : {}),
      };
      const [rows, total] = await Promise.all([
        prisma.kpiMeasurement.findMany({
          where,
          include: { sla: { select: { key: true } } },
          orderBy: [
            { periodStart: 'asc' },
            { periodEnd: 'asc' },
            { sla: { key: 'asc' } },
            { version: 'asc' },
            { id: 'asc' },
          ],
          take: query.limit,
          skip: query.offset,
        }),
        prisma.kpiMeasurement.count({ where }),
      ]);
      const items = rows.map(({ sla, ...m }) => ({ ...m, kpiKey: sla.key }));
      return { status: 200, body: { items, total, limit: query.limit, offset: query.offset } };
    },
  );
}

async function storeSubmission(
  prisma: PrismaClient,
  engagementId: string,
  timeZone: string,
  body: Submission,
  principal: Principal,
  idempotencyKey: string | null,
): Promise<SubmissionResult> {
  const periodStart = new Date(body.periodStart);
  const periodEnd = new Date(body.periodEnd);
  const actor = actorOf(principal);
  const bodyHash = idempotencyKey ? fingerprint(body) : null;
  return prisma.$transaction(async (tx) => {
    if (idempotencyKey) {
      const seen = await tx.kpiSubmission.findUnique({
        where: { engagementId_idempotencyKey: { engagementId, idempotencyKey } },
      });
      // A key sent again with other values would otherwise lose them silently.
      if (seen?.bodyHash && seen.bodyHash !== bodyHash) {
        throw new ProblemError(
          422,
          'Unprocessable Content',
          `Idempotency-Key "${idempotencyKey}" was used for a different submission to this engagement (other period, ` +
            'source or values): send a correction with a new key',
          [{ field: 'header.idempotency-key', reason: 'already used for a different submission' }],
        );
      }
      if (seen) return { submissionId: seen.id, created: 0, corrected: 0, unchanged: body.measurements.length };
    }
    const slas = await tx.sla.findMany({
      where: { engagementId, key: { in: body.measurements.map((m) => m.kpiKey) } },
    });
    const slaByKey = new Map(slas.map((s) => [s.key, s]));
    const unknown = body.measurements.filter((m) => !slaByKey.has(m.kpiKey));
    if (unknown.length) {
      throw new ProblemError(
        422,
        'Unprocessable Content',
        `unknown KPI key(s) for this engagement: ${unknown.map((m) => m.kpiKey).join(', ')}`,
        unknown.map((m) => ({
          field: `body.measurements.${body.measurements.indexOf(m)}.kpiKey`,
          reason: `no SLA "${m.kpiKey}"`,
        })),
      );
    }
    // A percentage lies in 0–100; other units may be negative (a net promoter score runs from -100).
    const outOfRange = body.measurements.filter(
      (m) => slaByKey.get(m.kpiKey)!.unit === '%' && (m.value < 0 || m.value > 100),
    );
    if (outOfRange.length) {
      throw new ProblemError(
        400,
        'Invalid request',
        `percentage KPI value(s) outside 0–100: ${outOfRange.map((m) => m.kpiKey).join(', ')}`,
        outOfRange.map((m) => ({
          field: `body.measurements.${body.measurements.indexOf(m)}.value`,
          reason: 'must be between 0 and 100 %',
        })),
      );
    }
    // A review or a gate reads every measurement whose period overlaps its own: a figure must lie within one calendar
    // period of its KPI (a week from Monday, a month, a quarter, in the engagement's time zone). A longer one would
    // stand in for the periods after it (one good weekly figure for a quarter of weeks, sent alongside a quarterly
    // one); one across a boundary (a Sunday-to-Saturday week) would leave both weeks measured in part, each scored
    // as missing. A period to date (the 1st to the 15th) lies within its month.
    const periodOf = (m: { kpiKey: string }) => {
      const measured = slaByKey.get(m.kpiKey)!.measurementPeriod;
      const at = DateTime.fromISO(body.periodStart, { zone: timeZone }).toMillis();
      return { measured, ...periodDates(periodAt(measured, at, timeZone), timeZone) };
    };
    const across = body.measurements.filter((m) => body.periodEnd > periodOf(m).to);
    if (across.length) {
      const first = across.reduce((a, b) => (periodOf(b).to < periodOf(a).to ? b : a));
      const { measured, from, to } = periodOf(first);
      const calendar = { WEEKLY: 'week (Monday to Sunday)', MONTHLY: 'month', QUARTERLY: 'quarter' }[measured];
      throw new ProblemError(
        422,
        'Unprocessable Content',
        `body.periodEnd: ${body.periodStart} to ${body.periodEnd} runs past the ${calendar} it starts in ` +
          `(${from} to ${to}, ${timeZone}), over which ${across.map((m) => m.kpiKey).join(', ')} ` +
          `${across.length > 1 ? 'are' : 'is'} measured`,
        [
          {
            field: 'body.periodEnd',
            reason: `must be at most ${to}, the last day of the ${UNIT_NAME[measured]} it starts in (${measured})`,
          },
          ...across.map((m) => ({
            field: `body.measurements.${body.measurements.indexOf(m)}.kpiKey`,
            reason: `${m.kpiKey} is measured ${periodOf(m).measured}: send it for one calendar ${UNIT_NAME[periodOf(m).measured]} at most`,
          })),
        ],
      );
    }

    const current = await tx.kpiMeasurement.findMany({
      where: { slaId: { in: slas.map((s) => s.id) }, periodStart, periodEnd, supersededAt: null },
    });
    const currentBySla = new Map(current.map((m) => [m.slaId, m]));
    const changes = body.measurements.filter((m) => {
      const existing = currentBySla.get(slaByKey.get(m.kpiKey)!.id);
      return !existing || !existing.value.equals(stored(m.value));
    });
    const result: SubmissionResult = {
      submissionId: null,
      created: 0,
      corrected: 0,
      unchanged: body.measurements.length - changes.length,
    };
    if (changes.length === 0 && !idempotencyKey) return result;

    const submission = await tx.kpiSubmission.create({
      data: {
        engagementId,
        periodStart,
        periodEnd,
        source: body.source,
        submittedBy: actor,
        idempotencyKey,
        bodyHash,
      },
    });
    result.submissionId = submission.id;
    const now = new Date();
    for (const m of changes) {
      const sla = slaByKey.get(m.kpiKey)!;
      const previous = currentBySla.get(sla.id);
      if (previous) {
        await tx.kpiMeasurement.update({ where: { id: previous.id }, data: { supersededAt: now } });
      }
      const created = await tx.kpiMeasurement.create({
        data: {
          engagementId,
          slaId: sla.id,
          submissionId: submission.id,
          periodStart,
          periodEnd,
          value: m.value,
          version: (previous?.version ?? 0) + 1,
          source: body.source,
          submittedBy: actor,
        },
      });
      await audit(tx, {
        actor,
        action: previous ? 'kpi.correct' : 'kpi.submit',
        entityType: 'KpiMeasurement',
        entityId: created.id,
        before: previous,
        after: created,
      });
      if (previous) result.corrected++;
      else result.created++;
    }
    return result;
  });
}

/** A value as the column keeps it (4 decimal places): 0.12345 is stored as 0.1235, and compared as that. */
function stored(value: number): Prisma.Decimal {
  return new Prisma.Decimal(value).toDecimalPlaces(4, Prisma.Decimal.ROUND_HALF_UP);
}

/** The submission as stored, independent of the order of its measurements. */
function fingerprint(body: Submission): string {
  const measurements = [...body.measurements]
    .sort((a, b) => a.kpiKey.localeCompare(b.kpiKey))
    .map((m) => [m.kpiKey, stored(m.value).toString()]);
  const canonical = JSON.stringify([body.periodStart, body.periodEnd, body.source, measurements]);
  return createHash('sha256').update(canonical).digest('hex');
}

function isSerializationFailure(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2034';
}
