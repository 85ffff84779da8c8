import { DateTime, Settings } from 'luxon';
import { reviewerOf } from '../../src/domain/types';
import {
  addBusinessSeconds,
  firstPeriodFrom,
  nextPeriod,
  periodAt,
  periodDates,
  serviceShareOf,
  shortPeriod,
  withinService,
  type Period,
} from '../../src/domain/calendar';
import { computeServiceCredits, type CreditableKpi } from '../../src/domain/credits';
import { minorDigits, money } from '../../src/domain/money';
import {
  dueByEndOfDay,
  dueDay,
  endOfDueDay,
  exitPlan,
  median,
  nextTerm,
  recommendRenewal,
  renewalAlerts,
  noticeDeadlineMs,
  renewalMilestones,
  type RenewalScorecard,
} from '../../src/domain/renewal';
import { shortestCadenceFirst, type ReviewCadence } from '../../src/domain/types';

const fcr: CreditableKpi = {
  key: 'fcr',
  direction: 'HIGHER_IS_BETTER',
  target: 80,
  tiers: [
    { maxShortfall: 2, creditPct: 1 },
    { maxShortfall: 5, creditPct: 2 },
    { maxShortfall: null, creditPct: 4 },
  ],
};
const aht: CreditableKpi = {
  key: 'aht',
  direction: 'LOWER_IS_BETTER',
  target: 360,
  tiers: [
    { maxShortfall: 30, creditPct: 1 },
    { maxShortfall: null, creditPct: 3 },
  ],
};
const FEE = 100_000_00;

describe('service credits', () => {
  it.each([
    ['at target', { fcr: 80, aht: 360 }, 12, 0, false],
    ['inside the first tier', { fcr: 78.5, aht: 360 }, 12, 1_000_00, false],
    ['on a tier bound', { fcr: 78, aht: 360 }, 12, 1_000_00, false],
    [
      'inside the second tier (the Texas DIR worked example: 2,000 on 100,000)',
      { fcr: 76, aht: 360 },
      12,
      2_000_00,
      false,
    ],
    ['beyond the last bound', { fcr: 60, aht: 360 }, 12, 4_000_00, false],
    ['lower-is-better inside its first tier', { fcr: 80, aht: 390 }, 12, 1_000_00, false],
    ['lower-is-better beyond its bound', { fcr: 80, aht: 391 }, 12, 3_000_00, false],
    ['missing data (worst tier)', { fcr: null, aht: 360 }, 12, 4_000_00, false],
    ['two misses under the cap', { fcr: 60, aht: 500 }, 12, 7_000_00, false],
    ['two misses above a 5% cap', { fcr: 60, aht: 500 }, 5, 5_000_00, true],
  ] as const)('%s', (_name, values, atRiskPct, totalCents, capped) => {
    const result = computeServiceCredits({
      kpis: [fcr, aht],
      values,
      monthlyFeeCents: FEE,
      atRiskPct,
      currency: 'USD',
    });
    expect(result.totalCents).toBe(totalCents);
    expect(result.capped).toBe(capped);
    expect(result.lines.reduce((sum, l) => sum + l.amountCents, 0)).toBe(totalCents);
  });

  it.each([
    ['higher is better', 'HIGHER_IS_BETTER', 99.9, 99.8],
    ['lower is better', 'LOWER_IS_BETTER', 300, 300.1],
  ] as const)('holds a decimal tier bound exactly as written (%s)', (_name, direction, target, value) => {
    // 99.9 − 99.8 is 0.10000000000000853 in floating point: the shortfall of 0.1 is on the "≤ 0.1" bound
    const uptime: CreditableKpi = {
      key: 'uptime',
      direction,
      target,
      tiers: [
        { maxShortfall: 0.1, creditPct: 2 },
        { maxShortfall: null, creditPct: 5 },
      ],
    };
    const result = computeServiceCredits({
      kpis: [uptime],
      values: { uptime: value },
      monthlyFeeCents: FEE,
      atRiskPct: 12,
      currency: 'USD',
    });
    expect(result.totalCents).toBe(2_000_00);
    expect(result.arithmetic[0]).toBe(
      `uptime: shortfall 0.1 from target ${target} → tier ≤ 0.1 → 2% × USD 100,000.00 = USD 2,000.00`,
    );
  });

  it('shows the arithmetic', () => {
    const result = computeServiceCredits({
      kpis: [fcr],
      values: { fcr: 76 },
      monthlyFeeCents: FEE,
      atRiskPct: 12,
      currency: 'USD',
    });
    expect(result.arithmetic).toEqual([
      'fcr: shortfall 4 from target 80 → tier ≤ 5 → 2% × USD 100,000.00 = USD 2,000.00',
      'total USD 2,000.00 (cap 12% = USD 12,000.00 not reached)',
    ]);
  });

  it('shares the cap out in proportion, to the cent', () => {
    const result = computeServiceCredits({
      kpis: [fcr, aht],
      values: { fcr: 60, aht: 500 },
      monthlyFeeCents: 33_333_33,
      atRiskPct: 5,
      currency: 'EUR',
    });
    // exact shares 95,238.38 and 71,428.62 of the 166,667 cents: the cent left goes to the larger remainder
    expect(result.lines.map((l) => l.amountCents)).toEqual([95238, 71429]);
    expect(result.totalCents).toBe(Math.round(33_333_33 * 0.05));
  });
});

describe('service credits in a currency without a minor unit', () => {
  it('owes and shows whole yen, also when the cap is shared out', () => {
    // ¥12,345,678 a month: the 4 % tier is ¥493,827.12, owed as ¥493,827
    const result = computeServiceCredits({
      kpis: [fcr, aht],
      values: { fcr: 60, aht: 360 },
      monthlyFeeCents: 12_345_678_00,
      atRiskPct: 12,
      currency: 'JPY',
    });
    expect(result.totalCents).toBe(493_827_00);
    expect(result.arithmetic).toEqual([
      'fcr: shortfall 20 from target 80 → tier beyond the last bound → 4% × JPY 12,345,678 = JPY 493,827',
      'total JPY 493,827 (cap 12% = JPY 1,481,481 not reached)',
    ]);
    // two misses over a 5 % cap of ¥617,283.9 → ¥617,284, shared in whole yen
    const capped = computeServiceCredits({
      kpis: [fcr, aht],
      values: { fcr: 60, aht: 500 },
      monthlyFeeCents: 12_345_678_00,
      atRiskPct: 5,
      currency: 'JPY',
    });
    expect(capped.totalCents).toBe(617_284_00);
    expect(capped.lines.map((l) => l.amountCents % 100)).toEqual([0, 0]);
    expect(capped.lines.reduce((sum, l) => sum + l.amountCents, 0)).toBe(617_284_00);
  });

  it("keeps the storage's 2 decimals for a currency with 3", () => {
    expect(money(1_234_50, 'KWD')).toBe('KWD 1,234.50');
    expect(money(1_234_50, 'JPY')).toBe('JPY 1,235');
    expect([minorDigits('JPY'), minorDigits('KRW'), minorDigits('USD'), minorDigits('KWD')]).toEqual([0, 0, 2, 2]);
  });
});

describe('service credits allocated from a pool (Texas DIR)', () => {
  // first call resolution carries 40 % of a pool of half the amount at risk, owed when worse than its minimum
  const allocatedFcr: CreditableKpi = {
    key: 'fcr',
    direction: 'HIGHER_IS_BETTER',
    target: 80,
    minimum: 75,
    tiers: [],
    allocationPct: 40,
  };
  const allocatedAht: CreditableKpi = {
    key: 'aht',
    direction: 'LOWER_IS_BETTER',
    target: 360,
    minimum: 420,
    tiers: [],
    allocationPct: 60,
  };
  const credits = (kpis: CreditableKpi[], values: Record<string, number | null>, atRiskPct: number, poolPct: number) =>
    computeServiceCredits({ kpis, values, monthlyFeeCents: FEE, atRiskPct, poolPct, currency: 'USD' });

  it("owes DOMAIN.md's worked example: 10 % at risk × 50 % pool × 40 % allocation of 100,000 = 2,000", () => {
    const result = credits([allocatedFcr], { fcr: 70 }, 10, 50);
    expect(result.totalCents).toBe(2_000_00);
    expect(result.arithmetic).toEqual([
      'fcr: 70 worse than minimum 75 → 10% at risk × 50% pool × 40% allocation × USD 100,000.00 = USD 2,000.00',
      'total USD 2,000.00 (cap 10% = USD 10,000.00 not reached)',
    ]);
  });

  it.each([
    ['at target', { fcr: 80 }, 0],
    ['below target, not below the minimum', { fcr: 76 }, 0],
    ['on the minimum', { fcr: 75 }, 0],
    ['a hundredth below the minimum', { fcr: 74.99 }, 2_000_00],
    ['no data', { fcr: null }, 2_000_00],
  ] as const)('owes the whole allocation only for a breach: %s', (_name, values, totalCents) => {
    expect(credits([allocatedFcr], values, 10, 50).totalCents).toBe(totalCents);
  });

  it('reads a lower-is-better minimum the other way, and says when data is missing', () => {
    expect(credits([allocatedAht], { aht: 420 }, 10, 50).totalCents).toBe(0);
    const missing = credits([allocatedAht], { aht: null }, 10, 50);
    expect(missing.totalCents).toBe(3_000_00);
    expect(missing.arithmetic[0]).toBe(
      'aht: no data (a breach) → 10% at risk × 50% pool × 60% allocation × USD 100,000.00 = USD 3,000.00',
    );
  });

  it('caps a pool above 100 % at the amount at risk, shared in proportion', () => {
    // 12 % × 250 % × (40 % + 60 %) = 30 % of the fee owed before the cap of 12 %
    const result = credits([allocatedFcr, allocatedAht], { fcr: 60, aht: 500 }, 12, 250);
    expect(result.capped).toBe(true);
    expect(result.lines.map((l) => [l.key, l.amountCents])).toEqual([
      ['fcr', 4_800_00],
      ['aht', 7_200_00],
    ]);
    expect(result.totalCents).toBe(12_000_00);
  });

  it('sits beside tiered KPIs in one month, under one cap', () => {
    const result = credits([allocatedFcr, aht], { fcr: 70, aht: 391 }, 10, 50);
    expect(result.lines.map((l) => [l.key, l.amountCents])).toEqual([
      ['fcr', 2_000_00],
      ['aht', 3_000_00],
    ]);
    // over the cap: 10 % × 250 % × 40 % = 10,000 allocated and a 3 % tier of 3,000, shared out of the cap of 10,000
    // exactly in proportion (7,692.307… and 2,307.692…), the cent left to the larger remainder
    const over = credits([allocatedFcr, aht], { fcr: 70, aht: 391 }, 10, 250);
    expect([over.capped, over.totalCents]).toEqual([true, 10_000_00]);
    expect(over.lines.map((l) => [l.key, l.amountCents])).toEqual([
      ['fcr', 7_692_31],
      ['aht', 2_307_69],
    ]);
  });

  it('keeps to the cap when the lines, rounded one by one, pass it by a cent their exact sum does not', () => {
    // 50,001.37 × 10 % × (33.33 + 33.33 + 33.34) %: the lines round to 1,666.55, 1,666.55 and 1,667.05, 5,000.15 in
    // all, against an exact 5,000.137 and a cap of 5,000.14
    const thirds = [33.33, 33.33, 33.34].map((allocationPct, i) => ({ ...allocatedFcr, key: `k${i}`, allocationPct }));
    const result = computeServiceCredits({
      kpis: thirds,
      values: { k0: null, k1: null, k2: null },
      monthlyFeeCents: 50_001_37,
      atRiskPct: 10,
      poolPct: 100,
      currency: 'USD',
    });
    expect(result.totalCents).toBe(5_000_14);
    expect(result.lines.reduce((sum, l) => sum + l.amountCents, 0)).toBe(5_000_14);
  });

  it('rounds the cap exactly: 1.15 % of 30.00 is 0.345, half up to 0.35', () => {
    const fine: CreditableKpi = { ...fcr, tiers: [{ maxShortfall: null, creditPct: 1.15 }] };
    const result = computeServiceCredits({
      kpis: [fine],
      values: { fcr: 0 },
      monthlyFeeCents: 30_00,
      atRiskPct: 1.15,
      currency: 'USD',
    });
    expect([result.capCents, result.totalCents, result.capped]).toEqual([35, 35, false]);
  });

  it('refuses to price an allocated KPI without its minimum', () => {
    const noMinimum: CreditableKpi = { ...allocatedFcr, minimum: undefined };
    expect(() => credits([noMinimum], { fcr: 70 }, 10, 50)).toThrow('fcr: an allocated credit needs');
  });

  it('is exact to the cent with two-decimal percentages, rounding half a cent up', () => {
    // 3,333,333 cents × 12.5 % × 33.33 % × 33.33 % = 46,287.03287… cents
    const odd = { ...allocatedFcr, allocationPct: 33.33 };
    const result = computeServiceCredits({
      kpis: [odd],
      values: { fcr: 0 },
      monthlyFeeCents: 33_333_33,
      atRiskPct: 12.5,
      poolPct: 33.33,
      currency: 'EUR',
    });
    expect(result.totalCents).toBe(46_287);
    // 3 cents × 100 % × 50 % × 50 % = 0.75 cent, and 1 cent × 100 % × 100 % × 50 % = half a cent: both up to 1
    const tiny = (monthlyFeeCents: number, poolPct: number) =>
      computeServiceCredits({
        kpis: [{ ...allocatedFcr, allocationPct: 50 }],
        values: { fcr: 0 },
        monthlyFeeCents,
        atRiskPct: 100,
        poolPct,
        currency: 'EUR',
      }).totalCents;
    expect([tiny(3, 50), tiny(1, 100), tiny(1, 99.99)]).toEqual([1, 1, 0]);
  });
});

describe('review order on the same due instant', () => {
  it('puts shorter cadences first, each once, whatever order the engagement lists them in', () => {
    expect(shortestCadenceFirst(['QUARTERLY', 'MONTHLY'])).toEqual(['MONTHLY', 'QUARTERLY']);
    expect(shortestCadenceFirst(['ANNUAL', 'WEEKLY', 'QUARTERLY', 'WEEKLY'])).toEqual([
      'WEEKLY',
      'QUARTERLY',
      'ANNUAL',
    ]);
  });
});

describe('review periods', () => {
  const periodsIn = (cadence: ReviewCadence, year: number, zone: string) => {
    const out: Period[] = [];
    let p = firstPeriodFrom(cadence, DateTime.fromObject({ year }, { zone }).toMillis(), zone);
    while (DateTime.fromISO(p.end) <= DateTime.fromObject({ year: year + 1 }, { zone })) {
      out.push(p);
      p = nextPeriod(p, zone);
    }
    return out;
  };

  it.each([
    ['WEEKLY', 2026, 'Europe/Berlin', 51],
    ['WEEKLY', 2029, 'America/New_York', 52],
    ['MONTHLY', 2027, 'Asia/Kolkata', 12],
    ['QUARTERLY', 2027, 'America/Los_Angeles', 4],
    ['ANNUAL', 2027, 'UTC', 1],
  ] as const)('%s periods wholly inside %i (%s): %i', (cadence, year, zone, count) => {
    expect(periodsIn(cadence, year, zone)).toHaveLength(count);
  });

  it('follows the calendar in the engagement time zone, across daylight-saving changes', () => {
    const march = firstPeriodFrom(
      'MONTHLY',
      DateTime.fromISO('2027-03-01T00:00', { zone: 'Europe/Berlin' }).toMillis(),
      'Europe/Berlin',
    );
    expect(march).toEqual({ cadence: 'MONTHLY', start: '2027-02-28T23:00:00.000Z', end: '2027-03-31T22:00:00.000Z' });
    expect(periodDates(march, 'Europe/Berlin')).toEqual({ from: '2027-03-01', to: '2027-03-31' });
    const q = firstPeriodFrom('QUARTERLY', DateTime.fromISO('2027-02-10T12:00', { zone: 'UTC' }).toMillis(), 'UTC');
    expect(periodDates(q, 'UTC')).toEqual({ from: '2027-04-01', to: '2027-06-30' });
  });
});

describe('business hours', () => {
  const at = (iso: string) => DateTime.fromISO(iso, { zone: 'Europe/London' }).toMillis();
  const iso = (ms: number) => DateTime.fromMillis(ms, { zone: 'Europe/London' }).toISO({ suppressMilliseconds: true });

  it('counts only Monday to Friday, 09:00 to 17:00, in the engagement time zone', () => {
    expect(iso(addBusinessSeconds(at('2027-01-04T10:00'), 4 * 3600, 'Europe/London'))).toBe(
      '2027-01-04T14:00:00.000+00:00'.replace('.000', ''),
    );
    expect(iso(addBusinessSeconds(at('2027-01-08T15:00'), 4 * 3600, 'Europe/London'))).toBe(
      '2027-01-11T11:00:00+00:00',
    );
    expect(iso(addBusinessSeconds(at('2027-01-09T12:00'), 3600, 'Europe/London'))).toBe('2027-01-11T10:00:00+00:00');
    expect(iso(addBusinessSeconds(at('2027-01-04T07:00'), 3 * 8 * 3600, 'Europe/London'))).toBe(
      '2027-01-06T17:00:00+00:00',
    );
  });
});

describe('renewal terms', () => {
  it.each([
    ['a year over a leap day renews to the same date', '2024-01-01', '2025-01-01', '2025-01-01', '2026-01-01'],
    ['a year ending after a leap day', '2027-03-01', '2028-03-01', '2028-03-01', '2029-03-01'],
    ['a quarter', '2026-01-01', '2026-04-01', '2026-04-01', '2026-07-01'],
    ['a term of odd length renews for as many days', '2026-01-01', '2026-01-11', '2026-01-11', '2026-01-21'],
  ])('%s', (_name, start, end, nextStart, nextEnd) => {
    const utc = (d: string) => `${d}T00:00:00.000Z`;
    expect(nextTerm(utc(start), utc(end))).toEqual({ termStart: utc(nextStart), termEnd: utc(nextEnd) });
  });
});

describe('renewal milestones', () => {
  it('in UTC: contract end − notice, and the evaluation and council before it', () => {
    expect(renewalMilestones('2029-01-01T00:00:00.000Z', 90)).toEqual({
      evaluationAt: '2028-08-04T00:00:00.000Z',
      councilEscalationAt: '2028-09-19T00:00:00.000Z',
      noticeDeadline: '2028-10-03T00:00:00.000Z',
      termEnd: '2029-01-01T00:00:00.000Z',
    });
  });

  it.each([
    // summer time (UTC−7) on both days in Los Angeles
    ['America/Los_Angeles', '2028-08-04T00:00:00.000-07:00', '2028-10-03T00:00:00.000-07:00'],
    ['Asia/Kolkata', '2028-08-04T00:00:00.000+05:30', '2028-10-03T00:00:00.000+05:30'],
    // Lord Howe moves by half an hour on 2028-10-01: the deadline is after it
    ['Australia/Lord_Howe', '2028-08-04T00:00:00.000+10:30', '2028-10-03T00:00:00.000+11:00'],
  ])("in %s: the same days, each starting at that zone's midnight", (timeZone, evaluationAt, noticeDeadline) => {
    const m = renewalMilestones('2029-01-01T00:00:00.000Z', 90, undefined, timeZone);
    expect(m).toMatchObject({ evaluationAt, noticeDeadline, termEnd: '2029-01-01T00:00:00.000Z' });
    expect(noticeDeadlineMs(new Date('2029-01-01T00:00:00.000Z'), 90, timeZone)).toBe(Date.parse(noticeDeadline));
    expect(m.noticeDeadline.slice(0, 10)).toBe('2028-10-03');
  });

  it.each([
    // Beirut skips midnight on 2026-03-29, the term end: the deadline a day before starts at its own midnight (it
    // carried the term end's 01:00, and a decision was taken an hour into the deadline's date)
    ['Asia/Beirut', '2026-03-29', 1, '2026-01-27T00:00:00.000+02:00', '2026-03-28T00:00:00.000+02:00'],
    // Santiago skips midnight on the deadline's date: 01:00 there, but the evaluation's date starts at midnight
    ['America/Santiago', '2026-03-06', 180, '2025-07-09T00:00:00.000-04:00', '2025-09-07T01:00:00.000-03:00'],
    // Havana repeats midnight on the deadline's date (clocks back at 01:00): the second, as PostgreSQL reads it
    ['America/Havana', '2026-01-31', 90, '2025-09-03T00:00:00.000-04:00', '2025-11-02T00:00:00.000-05:00'],
  ] as const)(
    'in %s, where the clocks change at midnight: each date read on its own, as PostgreSQL reads it',
    (timeZone, termEnd, notice, evaluationAt, noticeDeadline) => {
      // ... whenever it is asked: in winter and in summer (luxon's own choice between two readings follows today's)
      try {
        for (const today of ['2027-01-15T12:00:00Z', '2027-07-15T12:00:00Z']) {
          Settings.now = () => Date.parse(today);
          const m = renewalMilestones(`${termEnd}T00:00:00.000Z`, notice, undefined, timeZone);
          expect(m).toMatchObject({ evaluationAt, noticeDeadline });
          // the start path's shortcut reads the same instant
          expect(noticeDeadlineMs(new Date(`${termEnd}T00:00:00.000Z`), notice, timeZone)).toBe(
            Date.parse(noticeDeadline),
          );
        }
      } finally {
        Settings.now = () => Date.now();
      }
    },
  );
});

describe('the periods of a service', () => {
  const termEnd = '2029-01-01T00:00:00.000Z';
  it.each([
    // the term's last day is 2028-12-31 in each zone: in Los Angeles its midnight-UTC end is that day's afternoon
    ['UTC', '2028-12-15', true],
    ['America/Los_Angeles', '2028-12-15', true],
    ['Asia/Kolkata', '2028-12-15', true],
    ['UTC', '2029-01-15', false],
    ['America/Los_Angeles', '2029-01-15', false],
    ['Asia/Kolkata', '2029-01-15', false],
  ] as const)(
    'in %s, the month of %s is within a term ending on 2029-01-01 (midnight UTC): %s',
    (timeZone, day, within) => {
      const month = periodAt('MONTHLY', Date.parse(`${day}T12:00:00Z`), timeZone);
      expect(withinService(month, termEnd, timeZone)).toBe(within);
    },
  );

  it('leaves out a period the service ends part of the way through', () => {
    // the week of Monday 2028-12-25 ends on Sunday 2028-12-31; the next one runs into 2029
    const week = periodAt('WEEKLY', Date.parse('2028-12-27T12:00:00Z'), 'UTC');
    expect(withinService(week, termEnd, 'UTC')).toBe(true);
    expect(withinService(nextPeriod(week, 'UTC'), termEnd, 'UTC')).toBe(false);
    // ended for cause on a Wednesday: that week is not the service's
    expect(withinService(week, '2028-12-27T10:00:00.000Z', 'UTC')).toBe(false);
  });

  it.each([
    // ended for cause on Wednesday 2028-12-27 at 10:00 UTC: the week's Monday to Wednesday, 3 of its 7 days
    ['UTC', 'WEEKLY', '2028-12-27T10:00:00.000Z', '2028-12-25/2028-12-27', { days: 3, of: 7 }],
    // in Los Angeles that instant is still Wednesday (02:00)
    ['America/Los_Angeles', 'WEEKLY', '2028-12-27T10:00:00.000Z', '2028-12-25/2028-12-27', { days: 3, of: 7 }],
    // in Kolkata midnight UTC on the 12th is 05:30 on the 12th: the service ran 12 of December's 31 days
    ['Asia/Kolkata', 'MONTHLY', '2028-12-12T00:00:00.000Z', '2028-12-01/2028-12-12', { days: 12, of: 31 }],
    // at midnight UTC on the 12th the 11th was the last whole day in UTC
    ['UTC', 'MONTHLY', '2028-12-12T00:00:00.000Z', '2028-12-01/2028-12-11', { days: 11, of: 31 }],
    ['UTC', 'QUARTERLY', '2028-11-15T00:00:00.000Z', '2028-10-01/2028-11-14', { days: 45, of: 92 }],
    // on Kiritimati (UTC+14) midnight UTC on the 12th is 14:00 there: the 12th is the service's last day
    ['Pacific/Kiritimati', 'MONTHLY', '2028-12-12T00:00:00.000Z', '2028-12-01/2028-12-12', { days: 12, of: 31 }],
    // in London the month of the clocks going back (31 days, one of them 25 hours long)
    ['Europe/London', 'MONTHLY', '2028-10-30T12:00:00.000Z', '2028-10-01/2028-10-30', { days: 30, of: 31 }],
  ] as const)(
    'in %s, reviews of a %s period the service ends at %s only its days: %s',
    (timeZone, cadence, endsAt, dates, short) => {
      // the period running when the service ends
      const period = periodAt(cadence, Date.parse(endsAt) - 1, timeZone);
      const share = serviceShareOf(period, endsAt, timeZone)!;
      const { from, to } = periodDates(share, timeZone);
      expect(`${from}/${to}`).toBe(dates);
      expect(share.start).toBe(period.start);
      expect(shortPeriod(share, timeZone)).toEqual(short);
      // the next period begins after the service: nothing of it is reviewed
      expect(serviceShareOf(nextPeriod(share, timeZone), endsAt, timeZone)).toBeNull();
      expect(serviceShareOf(nextPeriod(period, timeZone), endsAt, timeZone)).toBeNull();
    },
  );

  it('reviews a period within the service whole, and calls it whole', () => {
    const month = periodAt('MONTHLY', Date.parse('2028-12-15T12:00:00Z'), 'America/Los_Angeles');
    expect(serviceShareOf(month, termEnd, 'America/Los_Angeles')).toBe(month);
    expect(shortPeriod(month, 'America/Los_Angeles')).toBeNull();
  });
});

describe('credits of a month the service ended in', () => {
  it('price an allocated KPI on the fee for the days too', () => {
    const allocated: CreditableKpi = { ...fcr, minimum: 75, tiers: [], allocationPct: 40 };
    const result = computeServiceCredits({
      kpis: [allocated],
      values: { fcr: 70 },
      monthlyFeeCents: FEE,
      atRiskPct: 10,
      poolPct: 50,
      currency: 'USD',
      shortMonth: { days: 15, of: 30 },
    });
    expect(result.totalCents).toBe(1_000_00);
    expect(result.lines[0].arithmetic).toBe(
      'fcr: 70 worse than minimum 75 → 10% at risk × 50% pool × 40% allocation × USD 50,000.00 (the fee for 15 of 30 ' +
        'days) = USD 1,000.00',
    );
  });

  it('are owed on the fee for the days it ran, under a cap of that fee, and say so', () => {
    const result = computeServiceCredits({
      kpis: [fcr],
      values: { fcr: 76 },
      monthlyFeeCents: FEE,
      atRiskPct: 1,
      currency: 'USD',
      shortMonth: { days: 12, of: 31 },
    });
    // 100,000 × 12/31 = 38,709.68; the tier's 2 % of it is 774.19, above the 1 % cap of 387.10
    expect(result.totalCents).toBe(387_10);
    expect(result.capped).toBe(true);
    expect(result.arithmetic).toEqual([
      'fee for 12 of 31 days (the service ended): USD 100,000.00 × 12/31 = USD 38,709.68',
      'fcr: shortfall 4 from target 80 → tier ≤ 5 → 2% × USD 38,709.68 (the fee for 12 of 31 days) = USD 774.19',
      'total USD 774.19 exceeds the cap 1% × USD 38,709.68 (the fee for 12 of 31 days) = USD 387.10: capped',
    ]);
  });
});

describe('exit steps', () => {
  it.each([
    // spread to 10:00 UTC on 10 May: in UTC and Kolkata (15:30) that is the 10th, in Pago Pago (23:00 on the 9th) the 9th
    ['UTC', '2029-05-10T10:00:00.000Z', '2029-05-10', '2029-05-10T23:59:59.999Z'],
    ['Asia/Kolkata', '2029-05-10T10:00:00.000Z', '2029-05-10', '2029-05-10T18:29:59.999Z'],
    ['Pacific/Pago_Pago', '2029-05-10T10:00:00.000Z', '2029-05-09', '2029-05-10T10:59:59.999Z'],
    // spread to a midnight there (an exit date): due the day before, the service's last
    ['America/Los_Angeles', '2029-05-10T07:00:00.000Z', '2029-05-09', '2029-05-10T06:59:59.999Z'],
  ] as const)('in %s, a step spread to %s is due on %s, overdue after %s', (timeZone, at, day, dueOn) => {
    expect(dueByEndOfDay(Date.parse(at), timeZone)).toBe(dueOn);
    expect(dueDay(dueOn, timeZone)).toBe(day);
    expect(endOfDueDay(day, timeZone)).toBe(dueOn);
  });

  it('spreads the plan over the days before the exit date, each step due at the end of its day there', () => {
    // from midnight on 2 May in Tokyo to the exit date, a fifth of the 30.4 days apart: the first 01:48 on 8 May there
    const steps = exitPlan(Date.parse('2029-05-01T15:00:00Z'), Date.parse('2029-06-01T00:00:00Z'), 'Asia/Tokyo');
    expect(steps.map((s) => [s.kind, s.dueOn])).toEqual([
      ['KNOWLEDGE_RETRANSFER', '2029-05-08T14:59:59.999Z'],
      ['DATA_RETURN_AND_DELETION', '2029-05-14T14:59:59.999Z'],
      ['IP_AND_ASSET_HANDOVER', '2029-05-20T14:59:59.999Z'],
      ['ACCESS_REVOCATION', '2029-05-26T14:59:59.999Z'],
      // the exit date is 09:00 on 1 June in Tokyo: the last step is due by the end of that day
      ['FINAL_RECONCILIATION', '2029-06-01T14:59:59.999Z'],
    ]);
    // without a zone, as plans were made before: due at the instants themselves
    expect(exitPlan(Date.parse('2029-05-01T15:00:00Z'), Date.parse('2029-06-01T00:00:00Z'))[4].dueOn).toBe(
      '2029-06-01T00:00:00.000Z',
    );
  });
});

describe('renewal alerts', () => {
  it('go 120, 90 and 30 days before the notice deadline; the 60th day is the evaluation, whose notice says it', () => {
    expect(renewalAlerts('2029-01-01T00:00:00.000Z', 90)).toEqual([
      { daysBefore: 120, at: '2028-06-05T00:00:00.000Z' },
      { daysBefore: 90, at: '2028-07-05T00:00:00.000Z' },
      { daysBefore: 30, at: '2028-09-03T00:00:00.000Z' },
    ]);
    expect(renewalMilestones('2029-01-01T00:00:00.000Z', 90).evaluationAt).toBe('2028-08-04T00:00:00.000Z');
  });

  it('keep the 60-day alert when the evaluation comes at another time, and count days on the zone calendar', () => {
    const alerts = renewalAlerts('2029-01-01T00:00:00.000Z', 90, 45, 'America/Los_Angeles');
    expect(alerts.map((a) => [a.daysBefore, a.at])).toEqual([
      [120, '2028-06-05T00:00:00.000-07:00'],
      [90, '2028-07-05T00:00:00.000-07:00'],
      [60, '2028-08-04T00:00:00.000-07:00'],
      [30, '2028-09-03T00:00:00.000-07:00'],
    ]);
    // with its own days, in any order: latest first, none on or after the deadline
    expect(renewalAlerts('2029-01-01T00:00:00.000Z', 90, 60, 'UTC', [7, 0, 200]).map((a) => a.daysBefore)).toEqual([
      200, 7,
    ]);
  });
});

describe('the review that escalates a KPI', () => {
  it('is the one of its own period, or the shortest that scores it', () => {
    expect(reviewerOf('WEEKLY', ['WEEKLY', 'MONTHLY'])).toBe('WEEKLY');
    expect(reviewerOf('WEEKLY', ['MONTHLY', 'QUARTERLY'])).toBe('MONTHLY');
    expect(reviewerOf('MONTHLY', ['ANNUAL', 'MONTHLY'])).toBe('MONTHLY');
    expect(reviewerOf('QUARTERLY', ['MONTHLY', 'ANNUAL'])).toBe('ANNUAL');
    expect(reviewerOf('QUARTERLY', ['WEEKLY', 'MONTHLY'])).toBeUndefined();
  });
});

describe('the median hours to resolve', () => {
  it('is the middle value, or the mean of the two middle ones', () => {
    expect(median([])).toBeNull();
    expect(median([5, 1, 100])).toBe(5);
    expect(median([100, 1])).toBe(50.5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('the renewal recommendation', () => {
  const term = (over: Partial<RenewalScorecard>): RenewalScorecard => ({
    attainmentPct: 100,
    attainmentByKpi: {},
    minimumHeldPct: 100,
    recentScores: [96, 97],
    creditsPaid: '0.00',
    escalationsBySeverity: {},
    medianHoursToResolve: null,
    openActionItems: 0,
    certificationsExpiring: [],
    ...over,
  });

  it('renews a vendor that met its targets consistently', () => {
    expect(recommendRenewal(term({}))).toEqual({
      recommendation: 'RENEW',
      reasons: ['targets were met in 100% of KPI-months'],
    });
  });

  it('renegotiates with a vendor that missed its targets every month within the minimums, owing credits', () => {
    const r = recommendRenewal(term({ attainmentPct: 0, minimumHeldPct: 100, creditsPaid: '36000.00' }));
    expect(r.recommendation).toBe('RENEGOTIATE');
    expect(r.reasons.slice(0, 2)).toEqual([
      'targets were met in 0% of KPI-months, minimums held in 100%',
      'service credits of 36000.00 were owed over the term',
    ]);
  });

  it('exits when the minimums failed in more than three KPI-months of ten, or nothing was measured', () => {
    expect(recommendRenewal(term({ attainmentPct: 50, minimumHeldPct: 69.9 })).recommendation).toBe('EXIT');
    expect(recommendRenewal(term({ attainmentPct: 50, minimumHeldPct: 70 })).recommendation).toBe('RENEGOTIATE');
    expect(recommendRenewal(term({ attainmentPct: null, minimumHeldPct: null }))).toMatchObject({
      recommendation: 'EXIT',
      reasons: ['no service-level data over the term'],
    });
  });
});
