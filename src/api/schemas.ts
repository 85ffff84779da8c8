import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from '../domain/duration';
import { LIFECYCLE_STAGES } from '../domain/lifecycle';
import { PHASE_KINDS } from '../domain/transition';
import { minorDigits } from '../domain/money';
import { EXIT_STEP_KINDS, renewalMilestones } from '../domain/renewal';
import {
  CERTIFICATION_KINDS,
  COUNCIL_ROLES,
  DELIVERY_MODELS,
  KPI_DIRECTIONS,
  MEASUREMENT_PERIODS,
  RENEWAL_DECISIONS,
  ROLES,
  SERVICE_LINES,
  REVIEW_CADENCES,
  SEVERITIES,
  SOURCING_APPROACHES,
  meets,
  reviewerOf,
} from '../domain/types';

/** Request schemas: the one definition of what the API accepts, also the source of /openapi.json. */

export const idParams = z.strictObject({ id: z.uuid('must be a UUID') });

/** Ten years: longer than any phase, hold or deadline, and within the database's 32-bit seconds columns. */
const MAX_DURATION_SECONDS = 3650 * 86_400;

const MAX_BUSINESS_DURATION_SECONDS = 365 * 86_400;

const duration = z
  .string()
  .regex(DURATION_PATTERN, { error: 'must be a duration like 14d, 36h, 90m or 5s', abort: true })
  .refine((value) => parseDuration(value) <= MAX_DURATION_SECONDS, 'must be at most 3650d');

/** Year 0000 matches the pattern but PostgreSQL has no year zero; nothing here is dated before 1900. */
export const isoDate = z.iso
  .date({ error: 'must be an ISO 8601 date (YYYY-MM-DD)', abort: true })
  .refine((date) => date >= '1900-01-01', 'must not be before 1900-01-01');
const text = (max = 200) => z.string().trim().min(1, 'is required').max(max, `must be at most ${max} characters`);

/** Money travels as a decimal string (or a finite number) and is stored exactly, never as a float. */
export const money = z
  .union([z.string(), z.number()], {
    error: (issue) => (issue.input === undefined ? 'is required' : 'must be an amount such as "120000.00"'),
  })
  .transform(String)
  .refine((value) => /^\d{1,12}(\.\d{1,2})?$/.test(value), 'must be a non-negative amount with at most 2 decimals');

/** A finite number: JSON cannot carry NaN, but strings like "NaN" or 1e400 (Infinity) must not pass either. */
const finite = (what: string) =>
  z.number({
    error: (issue) =>
      typeof issue.input === 'number'
        ? `${what} must be a finite number`
        : `${what} must be a number, not ${typeof issue.input}`,
  });

/** KPI targets, minimums and shortfalls: the same range as measurements, which their Decimal(14, 4) columns hold. */
const kpiNumber = (what: string) =>
  finite(what).min(-1e9, 'must be between -1e9 and 1e9').max(1e9, 'must be between -1e9 and 1e9');

/** The whole amount at risk is the allocated KPIs' pool unless the contract pools a share of it (or more). */
export const DEFAULT_CREDIT_POOL_PCT = 100;

/**
 * A percentage of credits, stored with 2 decimals: more would be rounded by PostgreSQL after the checks that add
 * them up had passed.
 */
const hundredthsOfPercent = (max: number) =>
  finite('percentage')
    .min(0.01, `must be between 0.01 and ${max}`)
    .max(max, `must be between 0.01 and ${max}`)
    .refine((pct) => Math.abs(pct * 100 - Math.round(pct * 100)) < 1e-6, 'must have at most 2 decimals');

const percent = finite('percentage').min(0, 'must be between 0 and 100').max(100, 'must be between 0 and 100');

const timeZone = z.string().refine(isTimeZone, 'must be an IANA time zone');

/** Aliases too: ICU lists Asia/Calcutta and Europe/Kiev, while Asia/Kolkata and Europe/Kyiv are what people write. */
function isTimeZone(tz: string): boolean {
  try {
    const canonical = new Intl.DateTimeFormat('en', { timeZone: tz }).resolvedOptions().timeZone;
    return canonical === 'UTC' || Intl.supportedValuesOf('timeZone').includes(canonical);
  } catch {
    return false;
  }
}

export const pageQuery = {
  limit: z.coerce.number().int('must be a whole number').min(1).max(200, 'must be at most 200').default(50),
  offset: z.coerce.number().int('must be a whole number').min(0, 'must not be negative').default(0),
};

// ── vendors ──

const certification = z.strictObject({
  kind: z.enum(CERTIFICATION_KINDS),
  name: text().optional(),
  expiresOn: isoDate,
});

const contact = z.strictObject({
  name: text(),
  email: z.email('must be an email address'),
  role: text(),
  phone: text(40).optional(),
});

const vendorFields = {
  legalName: text(),
  deliveryModel: z.enum(DELIVERY_MODELS),
  serviceLines: z.array(z.enum(SERVICE_LINES)).max(6).refine(unique, 'must not repeat a service line'),
  certifications: z.array(certification).max(50),
  contacts: z.array(contact).max(50),
};

export const createVendorBody = z.strictObject({
  ...vendorFields,
  serviceLines: vendorFields.serviceLines.default([]),
  certifications: vendorFields.certifications.default([]),
  contacts: vendorFields.contacts.default([]),
});

/** No defaults here: a field left out stays as it is (a default would wipe the vendor's lists). */
export const updateVendorBody = z
  .strictObject(vendorFields)
  .partial()
  .refine((b) => Object.keys(b).length > 0, 'must change a field');

export const listVendorsQuery = z.strictObject({ ...pageQuery, deliveryModel: z.enum(DELIVERY_MODELS).optional() });

// ── engagements ──

const creditTier = z.strictObject({
  /** Shortfall from target (in the KPI's unit) this tier covers; omit on the last tier for "any larger shortfall". */
  // Stored with 4 decimals: anything smaller would be stored as 0.
  maxShortfall: kpiNumber('maxShortfall').min(0.0001, 'must be at least 0.0001').nullable().default(null),
  creditPct: percent,
});

export const slaInput = z
  .strictObject({
    key: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'must be lower-case letters, digits or _ (e.g. fcr)'),
    name: text(),
    unit: text(20),
    direction: z.enum(KPI_DIRECTIONS),
    target: kpiNumber('target'),
    minimum: kpiNumber('minimum'),
    // Stored with 4 decimals: a smaller weight would be stored as 0 (and all of them at 0 leave nothing to score).
    weight: finite('weight').min(0.0001, 'must be at least 0.0001').max(100),
    measurementPeriod: z.enum(MEASUREMENT_PERIODS).default('MONTHLY'),
    mandatoryForGates: z.boolean().default(false),
    creditTiers: z.array(creditTier).max(10).default([]),
    /** Share of the engagement's credit pool this SLA carries (Texas DIR's allocation), instead of tiers. */
    creditAllocationPct: hundredthsOfPercent(100).nullable().optional(),
  })
  .superRefine((sla, ctx) => {
    if (!meets(sla.direction, sla.target, sla.minimum)) {
      ctx.addIssue({
        code: 'custom',
        path: ['minimum'],
        message: `must be no better than target for a ${sla.direction} KPI`,
      });
    }
    if (sla.unit === '%') {
      for (const field of ['target', 'minimum'] as const) {
        if (sla[field] < 0 || sla[field] > 100)
          ctx.addIssue({ code: 'custom', path: [field], message: 'must be between 0 and 100 %' });
      }
    }
    // Credits are computed in the monthly review, which scores the KPIs measured weekly or monthly.
    if (sla.measurementPeriod === 'QUARTERLY' && sla.creditTiers.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['creditTiers'],
        message: 'service credits are monthly: a KPI measured quarterly cannot carry credit tiers',
      });
    }
    if (sla.creditAllocationPct != null) {
      if (sla.measurementPeriod === 'QUARTERLY')
        ctx.addIssue({
          code: 'custom',
          path: ['creditAllocationPct'],
          message: 'service credits are monthly: a KPI measured quarterly cannot carry a credit allocation',
        });
      if (sla.creditTiers.length)
        ctx.addIssue({
          code: 'custom',
          path: ['creditAllocationPct'],
          message: 'a KPI owes credits by its tiers or by its allocation of the pool, not both',
        });
    }
    const bounds = sla.creditTiers.map((t) => t.maxShortfall);
    bounds.forEach((bound, i) => {
      if (bound === null && i !== bounds.length - 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['creditTiers', i, 'maxShortfall'],
          message: 'only the last tier may be open-ended',
        });
      } else if (bound !== null && i > 0 && bounds[i - 1] !== null && bound <= bounds[i - 1]!) {
        ctx.addIssue({ code: 'custom', path: ['creditTiers', i, 'maxShortfall'], message: 'tiers must ascend' });
      }
    });
  });

const escalationLevel = z.strictObject({
  level: z.number().int().min(1).max(10),
  role: text(),
  contactName: text(),
  contactEmail: z.email('must be an email address'),
});

const escalationPolicy = z
  .strictObject({
    severity: z.enum(SEVERITIES),
    acknowledgeWithin: duration,
    resolveWithin: duration,
    businessHours: z.boolean().default(false),
  })
  .superRefine((p, ctx) => {
    // Counted in business hours (8 a day, 5 days a week), 365d is already more than four years.
    for (const field of ['acknowledgeWithin', 'resolveWithin'] as const) {
      if (p.businessHours && parseDuration(p[field]) > MAX_BUSINESS_DURATION_SECONDS)
        ctx.addIssue({ code: 'custom', path: [field], message: 'must be at most 365d when counted in business hours' });
      // No time at all would climb every level the moment the escalation is raised.
      if (parseDuration(p[field]) === 0) ctx.addIssue({ code: 'custom', path: [field], message: 'must not be 0' });
    }
    if (parseDuration(p.resolveWithin) < parseDuration(p.acknowledgeWithin))
      ctx.addIssue({ code: 'custom', path: ['resolveWithin'], message: 'must not be shorter than acknowledgeWithin' });
  })
  .transform(({ acknowledgeWithin, resolveWithin, ...p }) => ({
    ...p,
    acknowledgeSeconds: parseDuration(acknowledgeWithin),
    resolveSeconds: parseDuration(resolveWithin),
  }));

const councilMember = z.strictObject({
  name: text(),
  email: z.email('must be an email address'),
  role: z.enum(COUNCIL_ROLES),
});

const engagementFields = {
  vendorId: z.uuid('must be a UUID'),
  name: text(),
  clientOrganisation: text(),
  processesInScope: z.array(text()).min(1, 'must name at least one process').max(50),
  sourcingApproach: z.enum(SOURCING_APPROACHES),
  termStart: isoDate.meta({ description: 'The first day of the term' }),
  // Exclusive, like the next term's start: a renewal's term starts on the day this one ends.
  termEnd: isoDate.meta({
    description: 'The day after the last day of the term: a three-year term from 2026-01-01 ends on 2029-01-01',
  }),
  monthlyFee: money,
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD'),
  // Aborting: the notice-deadline check below must never see a number no date can hold.
  renewalNoticeDays: z
    .number()
    .int({ error: 'must be a whole number', abort: true })
    .min(0, { abort: true })
    .max(730, { abort: true })
    .default(90),
  autoRenew: z.boolean().default(false),
  defaultRenewalDecision: z.enum(RENEWAL_DECISIONS).default('EXIT'),
  atRiskPct: percent.default(12),
  // Texas DIR's pool allocation: the share of the amount at risk the allocated KPIs draw on. Above 100 lets the
  // misses of a month reach the cap sooner; the cap holds whatever the pool.
  creditPoolPct: hundredthsOfPercent(500).default(DEFAULT_CREDIT_POOL_PCT),
  exitTriggers: z.array(text()).max(50).default([]),
  timeZone: timeZone.default('UTC'),
  reviewCadences: z
    .array(z.enum(REVIEW_CADENCES))
    .max(4)
    .default([...REVIEW_CADENCES])
    .refine(unique, 'must not repeat a cadence')
    // Service credits are owed per month and the renewal evaluation reads the term's monthly scorecards.
    .refine((cadences) => cadences.includes('MONTHLY'), 'must include MONTHLY: credits and renewal are monthly'),
  reviewGrace: duration.default('3d'),
  slas: z.array(slaInput).max(100).default([]),
  // An escalation climbs this matrix and every notice goes to one of its levels: without one it would reach no one.
  escalationLevels: z.array(escalationLevel).min(1, 'must name at least one level').max(10),
  escalationPolicies: z.array(escalationPolicy).max(4).optional(),
  councilMembers: z.array(councilMember).max(50).default([]),
};

/**
 * Why `amount` (a validated `money` string) cannot be billed in `currency`, if it cannot: the yen, the won… have no
 * minor unit, so no fraction of one to bill or to owe as credit.
 */
export function fractionProblem(currency: string, amount: string): string | undefined {
  if (minorDigits(currency) === 0 && !/^\d+(\.0{1,2})?$/.test(amount))
    return `must be a whole amount: ${currency} has no minor unit`;
  return undefined;
}

export const createEngagementBody = z.strictObject(engagementFields).superRefine((e, ctx) => {
  if (e.termEnd <= e.termStart) ctx.addIssue({ code: 'custom', path: ['termEnd'], message: 'must be after termStart' });
  const fraction = fractionProblem(e.currency, e.monthlyFee);
  if (fraction) ctx.addIssue({ code: 'custom', path: ['monthlyFee'], message: fraction });
  duplicates(e.slas.map((s) => s.key)).forEach((key) =>
    ctx.addIssue({ code: 'custom', path: ['slas'], message: `duplicate KPI key "${key}"` }),
  );
  // The allocations share the pool out: together they cannot promise more than it holds.
  const allocated = e.slas.reduce((sum, s) => sum + Math.round((s.creditAllocationPct ?? 0) * 100), 0) / 100;
  if (allocated > 100)
    ctx.addIssue({
      code: 'custom',
      path: ['slas'],
      message: `credit allocations add up to ${allocated} %: at most 100 % of the pool`,
    });
  const levels = e.escalationLevels.map((l) => l.level).sort((a, b) => a - b);
  if (levels.some((level, i) => level !== i + 1)) {
    ctx.addIssue({
      code: 'custom',
      path: ['escalationLevels'],
      message: 'levels must run 1, 2, 3… without gaps or repeats',
    });
  }
  duplicates((e.escalationPolicies ?? []).map((p) => p.severity)).forEach((severity) =>
    ctx.addIssue({ code: 'custom', path: ['escalationPolicies'], message: `duplicate severity ${severity}` }),
  );
  // The renewal is decided before the notice deadline: one at or before the term's start leaves no term to judge.
  const noticeDeadline = renewalMilestones(e.termEnd, e.renewalNoticeDays).noticeDeadline.slice(0, 10);
  if (e.termEnd > e.termStart && noticeDeadline <= e.termStart) {
    ctx.addIssue({
      code: 'custom',
      path: ['renewalNoticeDays'],
      message: `puts the notice deadline on ${noticeDeadline}, not after termStart ${e.termStart}`,
    });
  }
  // A figure no enabled review scores (a quarterly one without a quarterly or an annual review) is never judged.
  e.slas.forEach((sla, i) => {
    if (!reviewerOf(sla.measurementPeriod, e.reviewCadences))
      ctx.addIssue({
        code: 'custom',
        path: ['slas', i, 'measurementPeriod'],
        message: `${sla.measurementPeriod} is never reviewed: reviewCadences has no QUARTERLY or ANNUAL review`,
      });
  });
});

export const listEngagementsQuery = z.strictObject({
  ...pageQuery,
  vendorId: z.uuid('must be a UUID').optional(),
  stage: z.enum(LIFECYCLE_STAGES).optional(),
});

// ── KPI data ──

export const kpiSubmissionBody = z
  .strictObject({
    periodStart: isoDate,
    periodEnd: isoDate,
    source: text().default('api'),
    measurements: z
      .array(
        z.strictObject({
          kpiKey: z.string().min(1).max(40),
          value: kpiNumber('value'),
        }),
      )
      .min(1, 'must hold at least one measurement')
      .max(200),
  })
  .superRefine((s, ctx) => {
    if (s.periodEnd < s.periodStart)
      ctx.addIssue({ code: 'custom', path: ['periodEnd'], message: 'must not be before periodStart' });
    duplicates(s.measurements.map((m) => m.kpiKey)).forEach((key) =>
      ctx.addIssue({ code: 'custom', path: ['measurements'], message: `duplicate KPI key "${key}"` }),
    );
  });

export const idempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1).max(200).optional(),
});

export const listMeasurementsQuery = z.strictObject({
  ...pageQuery,
  kpiKey: z.string().max(40).optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  includeSuperseded: z.enum(['true', 'false']).default('false'),
});

// ── reads of workflow-written facts ──

export const listEscalationsQuery = z.strictObject({
  ...pageQuery,
  status: z.enum(['OPEN', 'ACKNOWLEDGED', 'RESOLVED']).optional(),
});
export const listPageQuery = z.strictObject({ ...pageQuery });
export const auditQuery = z.strictObject({
  ...pageQuery,
  entityType: z.string().max(40).optional(),
  entityId: z.string().max(60).optional(),
});

// ── access ──

export const createApiKeyBody = z
  .strictObject({ name: text(), role: z.enum(ROLES), vendorId: z.uuid('must be a UUID').optional() })
  .refine((k) => (k.role === 'VENDOR') === (k.vendorId !== undefined), {
    path: ['vendorId'],
    message: 'is required for (and only for) VENDOR keys',
  });

function unique<T>(values: T[]): boolean {
  return new Set(values).size === values.length;
}

function duplicates<T>(values: T[]): T[] {
  return [...new Set(values.filter((v, i) => values.indexOf(v) !== i))];
}

// ── transition ──

const phaseInput = z.strictObject({
  kind: z.enum(PHASE_KINDS),
  name: z.string().regex(/^[a-z0-9-]{1,40}$/, 'must be a short lower-case code such as wave-2'),
  volumePct: z.number().int('must be a whole number').min(0).max(100),
  minDuration: duration,
  gated: z.boolean().default(true),
});

/**
 * What a list of phases gets wrong on its own, each on the phase and field at fault: a repeated name, a volume below
 * the phase before, a last phase short of 100%. Where the list meets the running plan (a new phase below the current
 * one's volume, or named as a phase already run) only the workflow can tell: that is a 409 from there.
 */
const soundPhaseList = (phases: Array<z.infer<typeof phaseInput>>, ctx: z.RefinementCtx, at: string) => {
  phases.forEach((p, i) => {
    const first = phases.findIndex((q) => q.name === p.name);
    if (first < i)
      ctx.addIssue({ code: 'custom', path: [at, i, 'name'], message: `repeats the name of phase ${first + 1}` });
    if (i > 0 && p.volumePct < phases[i - 1].volumePct)
      ctx.addIssue({ code: 'custom', path: [at, i, 'volumePct'], message: 'must not be below the phase before' });
  });
  const last = phases.length - 1;
  if (last >= 0 && phases[last].volumePct !== 100)
    ctx.addIssue({ code: 'custom', path: [at, last, 'volumePct'], message: 'the last phase must carry 100%' });
  // Each phase may last up to ten years, but not the plan: a transition is months, and its length is stored.
  if (phases.every((p) => DURATION_PATTERN.test(p.minDuration))) {
    const total = phases.reduce((sum, p) => sum + parseDuration(p.minDuration), 0);
    if (total > MAX_DURATION_SECONDS)
      ctx.addIssue({ code: 'custom', path: [at], message: 'the phases together must last at most 3650d' });
  }
};

export const startTransitionBody = z
  .strictObject({
    waves: z.array(z.number().int().min(1).max(100)).min(1).max(10).optional(),
    phases: z.array(phaseInput).min(1).max(30).optional(),
    gateThreshold: z.number().min(0).max(100).optional(),
    // A failed gate is judged again after the hold: none would judge it again at once, over and over.
    hold: duration.refine((value) => parseDuration(value) > 0, 'must be longer than 0s').optional(),
    maxConsecutiveFailures: z.number().int().min(1).max(20).optional(),
    rollbackOnEscalation: z.boolean().optional(),
  })
  .superRefine((b, ctx) => {
    if (b.waves && b.phases)
      ctx.addIssue({ code: 'custom', path: ['waves'], message: 'give waves or phases, not both' });
    if (b.phases) soundPhaseList(b.phases, ctx, 'phases');
    if (b.waves) {
      if (b.waves.some((w, i) => i > 0 && w <= b.waves![i - 1]))
        ctx.addIssue({ code: 'custom', path: ['waves'], message: 'must ascend' });
      if (b.waves[b.waves.length - 1] !== 100)
        ctx.addIssue({ code: 'custom', path: ['waves'], message: 'the last wave must be 100' });
    }
  });

export const changePlanBody = z
  .strictObject({ phases: z.array(phaseInput).min(1).max(30) })
  .superRefine((b, ctx) => soundPhaseList(b.phases, ctx, 'phases'));
export const overrideGateBody = z.strictObject({
  reason: z.string().trim().min(3, 'is required (at least 3 characters)').max(1000),
});
export const noteBody = z.strictObject({ note: z.string().trim().max(1000).optional() });
export const approveGateBody = z.strictObject({
  note: z.string().trim().max(1000).optional(),
  /** The phase whose gate is approved: a repeat, or a click on a page that is out of date, is then refused. */
  phase: z.string().trim().min(1).max(100).optional(),
});
export const pauseBody = z.strictObject({ reason: z.string().trim().max(1000).optional() });

// ── governance and escalations ──

export const startGovernanceBody = z.strictObject({ startOn: isoDate.optional() });
export const raiseEscalationBody = z.strictObject({
  severity: z.enum(SEVERITIES),
  category: z.string().regex(/^[a-z0-9_-]{1,40}$/, 'must be a short lower-case code such as fcr or billing'),
  title: text(),
  description: text(4000),
});
export const acknowledgeBody = z.strictObject({ note: z.string().trim().max(1000).optional() });
export const resolveBody = z.strictObject({
  resolution: z.string().trim().min(3, 'is required (at least 3 characters)').max(4000),
  rootCause: z.string().trim().min(3, 'must be at least 3 characters').max(4000).optional(),
});
export const reassignBody = z.strictObject({ assignee: text() });
export const severityBody = z.strictObject({ severity: z.enum(SEVERITIES) });

// ── renewal and exit ──

export const renewalDecisionBody = z
  .strictObject({
    decision: z.enum(RENEWAL_DECISIONS),
    /** For RENEGOTIATE: the next term's monthly fee. */
    newMonthlyFee: money.optional(),
    reason: z.string().trim().min(3, 'must be at least 3 characters').max(2000).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.newMonthlyFee !== undefined && b.decision !== 'RENEGOTIATE')
      ctx.addIssue({ code: 'custom', path: ['newMonthlyFee'], message: 'only a RENEGOTIATE decision sets a new fee' });
  });
export const exitStepParams = z.strictObject({ id: z.uuid('must be a UUID'), kind: z.enum(EXIT_STEP_KINDS) });
export const completeExitStepBody = z.strictObject({ evidence: z.string().trim().max(2000).optional() });
export const terminateBody = z.strictObject({
  reason: z.string().trim().min(3, 'is required (at least 3 characters)').max(2000),
});
