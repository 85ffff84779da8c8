/**
 * A realistic demo portfolio, generated deterministically (same seed, same data): vendors across delivery models,
 * engagements at every stage, and a year of monthly KPI data around target with some breaches. Pure: no I/O.
 */
import type { KpiDirection } from '../domain/types';

interface SlaTemplate {
  key: string;
  name: string;
  unit: string;
  direction: KpiDirection;
  target: number;
  minimum: number;
  weight: number;
  mandatoryForGates: boolean;
  creditTiers: Array<{ maxShortfall: number | null; creditPct: number }>;
}

/** Targets from the domain brief's reference table. */
const FRONT_OFFICE: SlaTemplate[] = [
  {
    key: 'fcr',
    name: 'First call resolution',
    unit: '%',
    direction: 'HIGHER_IS_BETTER',
    target: 75,
    minimum: 70,
    weight: 3,
    mandatoryForGates: true,
    creditTiers: [
      { maxShortfall: 2, creditPct: 1 },
      { maxShortfall: 5, creditPct: 2 },
      { maxShortfall: null, creditPct: 4 },
    ],
  },
  {
    key: 'service_level',
    name: 'Calls answered within 20 s',
    unit: '%',
    direction: 'HIGHER_IS_BETTER',
    target: 80,
    minimum: 75,
    weight: 2,
    mandatoryForGates: true,
    creditTiers: [
      { maxShortfall: 5, creditPct: 1 },
      { maxShortfall: null, creditPct: 3 },
    ],
  },
  {
    key: 'abandonment',
    name: 'Abandonment rate',
    unit: '%',
    direction: 'LOWER_IS_BETTER',
    target: 5,
    minimum: 8,
    weight: 1,
    mandatoryForGates: false,
    creditTiers: [{ maxShortfall: null, creditPct: 1 }],
  },
  {
    key: 'asa',
    name: 'Average speed of answer',
    unit: 's',
    direction: 'LOWER_IS_BETTER',
    target: 28,
    minimum: 40,
    weight: 1,
    mandatoryForGates: false,
    creditTiers: [],
  },
  {
    key: 'csat',
    name: 'Customer satisfaction',
    unit: '%',
    direction: 'HIGHER_IS_BETTER',
    target: 85,
    minimum: 80,
    weight: 3,
    mandatoryForGates: true,
    creditTiers: [
      { maxShortfall: 3, creditPct: 1 },
      { maxShortfall: null, creditPct: 3 },
    ],
  },
];

const BACK_OFFICE: SlaTemplate[] = [
  {
    key: 'accuracy',
    name: 'Invoice accuracy',
    unit: '%',
    direction: 'HIGHER_IS_BETTER',
    target: 98,
    minimum: 97,
    weight: 3,
    mandatoryForGates: true,
    creditTiers: [
      { maxShortfall: 0.5, creditPct: 2 },
      { maxShortfall: null, creditPct: 5 },
    ],
  },
  {
    key: 'payroll_accuracy',
    name: 'Payroll accuracy',
    unit: '%',
    direction: 'HIGHER_IS_BETTER',
    target: 99.5,
    minimum: 99,
    weight: 3,
    mandatoryForGates: true,
    creditTiers: [{ maxShortfall: null, creditPct: 4 }],
  },
  {
    key: 'turnaround',
    name: 'Turnaround time',
    unit: 'h',
    direction: 'LOWER_IS_BETTER',
    target: 24,
    minimum: 36,
    weight: 2,
    mandatoryForGates: false,
    creditTiers: [
      { maxShortfall: 6, creditPct: 1 },
      { maxShortfall: null, creditPct: 2 },
    ],
  },
];

const VENDORS = [
  {
    legalName: 'Northwind Contact Services Pvt Ltd',
    deliveryModel: 'OFFSHORE',
    serviceLines: ['FRONT_OFFICE', 'ITES'],
  },
  { legalName: 'Baltic Back Office SIA', deliveryModel: 'NEARSHORE', serviceLines: ['BACK_OFFICE', 'KPO'] },
  { legalName: 'Hometown Support Inc', deliveryModel: 'ONSHORE', serviceLines: ['FRONT_OFFICE'] },
  {
    legalName: 'Manila Shared Services Corp',
    deliveryModel: 'OFFSHORE',
    serviceLines: ['FRONT_OFFICE', 'BACK_OFFICE'],
  },
  { legalName: 'Monterrey Nearshore Solutions SA', deliveryModel: 'NEARSHORE', serviceLines: ['FRONT_OFFICE', 'RPO'] },
  { legalName: 'LexPro Legal Process Ltd', deliveryModel: 'OFFSHORE', serviceLines: ['LPO', 'BACK_OFFICE'] },
] as const;

const PROCESSES = [
  { name: 'Tier-1 customer support', processes: ['customer support', 'complaints'], slas: FRONT_OFFICE },
  { name: 'Collections', processes: ['collections'], slas: FRONT_OFFICE },
  {
    name: 'Accounts payable',
    processes: ['invoice processing'],
    slas: BACK_OFFICE.filter((s) => s.key !== 'payroll_accuracy'),
  },
  {
    name: 'Payroll',
    processes: ['payroll', 'HR administration'],
    slas: BACK_OFFICE.filter((s) => s.key !== 'accuracy'),
  },
  {
    name: 'Claims intake',
    processes: ['claims', 'data entry'],
    slas: BACK_OFFICE.filter((s) => s.key !== 'payroll_accuracy'),
  },
];
const CLIENTS = ['Globex Retail', 'Initech Insurance', 'Umbrella Health', 'Stark Logistics', 'Wayne Financial'];
const STAGES = ['STEADY_STATE', 'STEADY_STATE', 'TRANSITION', 'STEADY_STATE', 'RENEWAL', 'CONTRACTED', 'EXIT'] as const;

export interface SeedEngagement {
  vendorIndex: number;
  name: string;
  clientOrganisation: string;
  processesInScope: string[];
  sourcingApproach: 'STRATEGIC' | 'TACTICAL';
  termStart: string;
  termEnd: string;
  monthlyFee: string;
  currency: string;
  renewalNoticeDays: number;
  autoRenew: boolean;
  atRiskPct: number;
  stage: (typeof STAGES)[number];
  slas: SlaTemplate[];
  /** Monthly values, one array per period (oldest first), aligned with `slas`. */
  months: Array<{ periodStart: string; periodEnd: string; values: number[] }>;
}

export function demoPortfolio(opts: { engagements: number; today: Date; seed?: number }) {
  const random = mulberry32(opts.seed ?? 42);
  const engagements: SeedEngagement[] = [];
  for (let i = 0; i < opts.engagements; i++) {
    const process = PROCESSES[i % PROCESSES.length];
    const stage = STAGES[i % STAGES.length];
    const renewalNoticeDays = [30, 60, 90, 180][i % 4];
    const [year, month] = [opts.today.getUTCFullYear(), opts.today.getUTCMonth()];
    // Dates that agree with the stage, as a lifecycle started on the engagement would find them: a contract starting
    // in two months; a transition begun one to three months ago; a renewal whose evaluation is past and whose notice
    // deadline is not (its term ends on the first month start at least 15 days after the deadline); the others one to
    // two years into a three-year term, their renewal evaluation months away, and a year of KPI data inside it.
    let termStart =
      stage === 'CONTRACTED'
        ? monthStart(year, month + 2)
        : stage === 'TRANSITION'
          ? monthStart(year, month - 1 - (i % 3))
          : monthStart(year, month - 12 - (i % 12));
    if (stage === 'RENEWAL') {
      const deadlineAndMore = new Date(opts.today.getTime() + (renewalNoticeDays + 15) * 86_400_000);
      termStart = monthStart(deadlineAndMore.getUTCFullYear() - 3, deadlineAndMore.getUTCMonth() + 1);
    }
    const termEnd = monthStart(Number(termStart.slice(0, 4)) + 3, Number(termStart.slice(5, 7)) - 1);
    // Some vendors run a little worse than others, so the portfolio has breaches worth looking at.
    const quality = [0.6, 0.2, 0.9, 0.4, 0.1, 0.7][i % VENDORS.length];
    const months =
      stage === 'CONTRACTED'
        ? []
        : lastTwelveMonths(opts.today).map(({ periodStart, periodEnd }) => ({
            periodStart,
            periodEnd,
            values: process.slas.map((sla) => sampleValue(sla, quality, random)),
          }));
    engagements.push({
      vendorIndex: i % VENDORS.length,
      name: `${process.name}${i >= PROCESSES.length ? ` #${Math.floor(i / PROCESSES.length) + 1}` : ''}`,
      clientOrganisation: CLIENTS[i % CLIENTS.length],
      processesInScope: [...process.processes],
      sourcingApproach: i % 3 === 0 ? 'TACTICAL' : 'STRATEGIC',
      termStart,
      termEnd,
      monthlyFee: (40_000 + Math.round(random() * 160) * 1_000).toFixed(2),
      currency: ['USD', 'EUR', 'GBP'][i % 3],
      renewalNoticeDays,
      autoRenew: i % 4 === 1,
      atRiskPct: [10, 12][i % 2],
      stage,
      slas: process.slas,
      months,
    });
  }
  const vendors = VENDORS.map((v, i) => ({
    ...v,
    serviceLines: [...v.serviceLines],
    certifications: [
      { kind: 'ISO_27001' as const, expiresOn: isoDate(addMonths(opts.today, 6 + i * 3)) },
      ...(i % 2 === 0 ? [{ kind: 'SOC_2' as const, expiresOn: isoDate(addMonths(opts.today, 2 + i)) }] : []),
    ],
    contacts: [
      { name: `Delivery lead ${i + 1}`, email: `delivery${i + 1}@vendor${i + 1}.example`, role: 'operations lead' },
    ],
  }));
  return { vendors, engagements };
}

function sampleValue(sla: SlaTemplate, quality: number, random: () => number): number {
  // Mostly between minimum and a little better than target; a weaker vendor misses more often.
  const span = Math.abs(sla.target - sla.minimum);
  const better = sla.direction === 'HIGHER_IS_BETTER' ? 1 : -1;
  const drift = (random() - quality) * span * 1.6;
  let value = sla.target + better * drift;
  if (sla.unit === '%') value = Math.min(100, Math.max(0, value));
  return Math.round(value * 100) / 100;
}

function lastTwelveMonths(today: Date) {
  return Array.from({ length: 12 }, (_, k) => {
    const start = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 12 + k, 1));
    const end = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 0));
    return { periodStart: isoDate(start), periodEnd: isoDate(end) };
  });
}

function monthStart(year: number, monthIndex: number): string {
  return isoDate(new Date(Date.UTC(year, monthIndex, 1)));
}

function addMonths(date: Date, months: number): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, date.getUTCDate()));
}

function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Small seeded PRNG, so the demo data is the same on every machine. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
