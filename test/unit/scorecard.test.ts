import {
  attainment,
  evaluateGate,
  forgivenWeekDays,
  kpiStatus,
  measuredEnough,
  measuredForGate,
  scoreKpi,
  weightedScore,
  windowMean,
  windowMeasure,
  type KpiDefinition,
} from '../../src/domain/scorecard';
import { defaultTransitionPlan, planProblems } from '../../src/domain/transition';

const fcr: KpiDefinition = {
  key: 'fcr',
  direction: 'HIGHER_IS_BETTER',
  target: 80,
  minimum: 70,
  weight: 3,
  mandatoryForGates: true,
};
const aht: KpiDefinition = {
  key: 'aht',
  direction: 'LOWER_IS_BETTER',
  target: 360,
  minimum: 420,
  weight: 1,
  mandatoryForGates: false,
};

describe('KPI scoring', () => {
  it.each([
    ['higher is better, at target', fcr, 80, 100, 'met'],
    ['higher is better, between minimum and target', fcr, 72, 90, 'at_risk'],
    ['higher is better, below minimum', fcr, 60, 75, 'breached'],
    ['lower is better, better than target', aht, 300, 100, 'met'],
    ['lower is better, between target and minimum', aht, 400, 90, 'at_risk'],
    ['lower is better, worse than minimum', aht, 480, 75, 'breached'],
    // exactly at the minimum is still at risk, not a breach, in either direction
    ['higher is better, exactly at minimum', fcr, 70, 87.5, 'at_risk'],
    ['lower is better, exactly at minimum', aht, 420, (360 / 420) * 100, 'at_risk'],
    ['lower is better, exactly at target', aht, 360, 100, 'met'],
  ] as const)('%s', (_name, kpi, value, expectedAttainment, status) => {
    expect(attainment(kpi.direction, value, kpi.target)).toBeCloseTo(expectedAttainment, 5);
    expect(kpiStatus(kpi, value)).toBe(status);
  });

  it('weighs a missing KPI as an attainment of 0 in the overall score, and leaves no weight out', () => {
    const results = [scoreKpi(fcr, 80), scoreKpi(aht, null)];
    expect(results.map((r) => [r.status, r.attainment])).toEqual([
      ['met', 100],
      ['missing', 0],
    ]);
    // (3 × 100 + 1 × 0) ÷ 4
    expect(weightedScore([fcr, aht], results)).toBe(75);
  });

  it('scores a lower-is-better KPI with a zero target between the target and its minimum, not at 0', () => {
    const defects: KpiDefinition = { ...aht, key: 'defects', target: 0, minimum: 2, mandatoryForGates: true };
    expect([0, 1, 2, 3, 4, 6].map((v) => attainment('LOWER_IS_BETTER', v, 0, 2))).toEqual([100, 75, 50, 25, 0, 0]);
    // one defect is within the minimum: the gate fails on the score alone, with a score that says how far it is
    const verdict = evaluateGate([defects], { defects: 1 }, 95);
    expect(verdict).toMatchObject({ passed: false, score: 75 });
    expect(kpiStatus(defects, 1)).toBe('at_risk');
  });

  it('scores a target of zero or below by its distance towards the minimum, in either direction', () => {
    // a net promoter score with a target of -10 and a minimum of -30: better is 100, the minimum 50 (it was the
    // other way round: 50 scored 0 and failed the gate, -25 scored 100)
    expect([50, -10, -20, -30, -50].map((v) => attainment('HIGHER_IS_BETTER', v, -10, -30))).toEqual([
      100, 100, 75, 50, 0,
    ]);
    // a higher-is-better target of zero no longer gives 100 to every value
    expect([5, 0, -10, -20].map((v) => attainment('HIGHER_IS_BETTER', v, 0, -20))).toEqual([100, 100, 75, 50]);
    // lower is better, below zero: a value worse than the target is not 100 for being negative
    expect([-10, -5, 0, 5].map((v) => attainment('LOWER_IS_BETTER', v, -5, 5))).toEqual([100, 100, 75, 50]);
    // a positive target whose minimum is zero or below: a value between them is not 0 (it met the minimum)
    expect([25, 20, 5, 0, -10, -40].map((v) => attainment('HIGHER_IS_BETTER', v, 20, -10))).toEqual([
      100,
      100,
      75,
      100 - 100 / 3,
      50,
      0,
    ]);
    const nps: KpiDefinition = { ...fcr, key: 'nps', target: -10, minimum: -30 };
    expect(evaluateGate([nps], { nps: 50 }, 95)).toMatchObject({ passed: true, score: 100 });
    expect(evaluateGate([nps], { nps: -25 }, 95)).toMatchObject({ passed: false, score: 62.5 });
  });

  it('passes a gate when mandatory KPIs meet their minimum and the weighted score reaches the threshold', () => {
    const verdict = evaluateGate([fcr, aht], { fcr: 80, aht: 400 }, 95);
    expect(verdict).toMatchObject({ passed: true, score: 97.5, reasons: [] });
  });

  it('fails a gate on a missing mandatory measurement, naming it', () => {
    const verdict = evaluateGate([fcr, aht], { aht: 300 }, 0);
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons).toEqual(['fcr: no measurement in the gate window']);
  });

  it('fails a gate whose weighted score is under the threshold even with every minimum met', () => {
    const verdict = evaluateGate([fcr, aht], { fcr: 72, aht: 400 }, 95);
    expect(verdict.reasons).toEqual(['weighted score 90 is below the gate threshold 95']);
  });
});

describe('transition plans', () => {
  it('spans the 16-week model by default with waves at 10, 25, 50 and 100 %', () => {
    const plan = defaultTransitionPlan();
    expect(plan.phases.map((p) => [p.name, p.volumePct])).toEqual([
      ['knowledge-transfer', 0],
      ['shadowing', 0],
      ['wave-1', 10],
      ['wave-2', 25],
      ['wave-3', 50],
      ['wave-4', 100],
      ['stabilisation', 100],
    ]);
    expect(plan.phases.reduce((days, p) => days + p.minDurationSeconds / 86_400, 0)).toBe(112);
    expect(planProblems(plan.phases)).toEqual([]);
  });

  it('names what is wrong with an unsound plan', () => {
    expect(
      planProblems([
        { kind: 'RAMP_WAVE', name: 'wave-1', volumePct: 50, minDurationSeconds: 60, gated: true },
        { kind: 'RAMP_WAVE', name: 'wave-1', volumePct: 25, minDurationSeconds: 60, gated: true },
      ]),
    ).toEqual([
      'phase 2: volume must not fall from one phase to the next',
      'phase names must be unique',
      'the last phase must carry 100% of the volume',
    ]);
  });
});

describe('the mean of a KPI over a window, by day', () => {
  const m = (periodStart: string, periodEnd: string, value: number) => ({ periodStart, periodEnd, value });

  it('counts a week that runs over the window’s edge for its days inside it', () => {
    const january = [
      m('2024-12-30', '2025-01-05', 60),
      m('2025-01-06', '2025-01-26', 80),
      m('2025-01-27', '2025-02-02', 60),
    ];
    expect(windowMean('2025-01-01', '2025-01-31', january)).toBe(73.5484);
    expect(windowMean('2025-01-01', '2025-01-31', [m('2025-01-01', '2025-01-31', 70)])).toBe(70);
  });

  it('lets values for single days replace a month’s value for those days only, not outvote it', () => {
    // a vendor's October at 60, then two days "corrected" to 100: still a breach-level month, not a mean of 86.67
    const october = [
      m('2026-10-01', '2026-10-31', 60),
      m('2026-10-01', '2026-10-01', 100),
      m('2026-10-02', '2026-10-02', 100),
    ];
    expect(windowMean('2026-10-01', '2026-10-31', october)).toBe(Math.round(((29 * 60 + 200) / 31) * 1e4) / 1e4);
    // the later submission wins for the days it covers, whatever its length
    expect(
      windowMean('2026-10-01', '2026-10-31', [m('2026-10-01', '2026-10-01', 100), m('2026-10-01', '2026-10-31', 60)]),
    ).toBe(60);
  });

  it('has no mean when no measurement covers a day of the window', () => {
    expect(windowMean('2026-10-01', '2026-10-31', [])).toBeUndefined();
    expect(windowMean('2026-10-01', '2026-10-31', [m('2026-09-01', '2026-09-30', 70)])).toBeUndefined();
  });

  it('lets a review score a KPI from every day of its period, or leave only the forgiven days at its edges', () => {
    const m = (periodStart: string, periodEnd: string) => ({ periodStart, periodEnd, value: 1 });
    const october = (...ms: ReturnType<typeof m>[]) => windowMeasure('2025-10-01', '2025-10-31', ms);
    const none = { atStart: 0, atEnd: 0 };
    // October 2025 runs from a Wednesday to a Friday: 5 days of a week at its start, 5 at its end
    const weeks = { atStart: 5, atEnd: 5 };
    expect(measuredEnough(october(m('2025-10-01', '2025-10-31')), none)).toBe(true);
    expect(measuredEnough(october(m('2025-10-01', '2025-10-01')), none)).toBe(false);
    // the last week's 5 days uncovered: only when they are forgiven
    expect(measuredEnough(october(m('2025-09-29', '2025-10-26')), weeks)).toBe(true);
    expect(measuredEnough(october(m('2025-09-29', '2025-10-26')), none)).toBe(false);
    // as may the first week's, and both at once
    expect(measuredEnough(october(m('2025-10-06', '2025-10-31')), weeks)).toBe(true);
    expect(measuredEnough(october(m('2025-10-06', '2025-10-26')), weeks)).toBe(true);
    // a day more at an edge (it used to forgive up to 6 days at each edge of every period), or any in the middle
    expect(measuredEnough(october(m('2025-09-29', '2025-10-25')), weeks)).toBe(false);
    expect(measuredEnough(october(m('2025-10-07', '2025-10-31')), weeks)).toBe(false);
    expect(measuredEnough(october(m('2025-10-01', '2025-10-10'), m('2025-10-12', '2025-10-31')), weeks)).toBe(false);
    expect(measuredEnough(october(), weeks)).toBe(false);
  });

  it('lets a gate judge a KPI only when every day of its finished periods in the window was measured', () => {
    const m = (periodStart: string, periodEnd: string) => ({ periodStart, periodEnd, value: 1 });
    // a phase from Wednesday 7 October 2026 judged on Tuesday 20 October: a weekly KPI's week of 19–25 October runs on
    const weekly = (...ms: ReturnType<typeof m>[]) => measuredForGate('2026-10-07', '2026-10-20', '2026-10-19', ms);
    // both finished weeks sent (the first from its Monday, before the phase): judged; the running week may be missing
    expect(weekly(m('2026-10-05', '2026-10-11'), m('2026-10-12', '2026-10-18'))).toBe(true);
    // two good days of the fortnight, or the first week alone, or a gap between: not enough (they used to be judged)
    expect(weekly(m('2026-10-17', '2026-10-18'))).toBe(false);
    expect(weekly(m('2026-10-05', '2026-10-11'))).toBe(false);
    expect(weekly(m('2026-10-12', '2026-10-18'))).toBe(false);
    // daily figures of the running week, with a gap, are fine: that week is not due yet
    expect(weekly(m('2026-10-05', '2026-10-11'), m('2026-10-12', '2026-10-18'), m('2026-10-20', '2026-10-20'))).toBe(
      true,
    );
    // the week just ended, still within the grace for sending it (open from its Monday, the 12th): may be missing
    expect(measuredForGate('2026-10-07', '2026-10-20', '2026-10-12', [m('2026-10-05', '2026-10-11')])).toBe(true);
    // a monthly KPI whose month is still running: its figure cannot exist yet, so the whole window may be unmeasured,
    // but then there is nothing to judge
    expect(measuredForGate('2026-10-07', '2026-10-20', '2026-10-01', [])).toBe(false);
    expect(measuredForGate('2026-10-07', '2026-10-20', '2026-10-01', [m('2026-10-01', '2026-10-31')])).toBe(true);
    // over a month's end: September's days must be there, October's may not yet
    const over = (...ms: ReturnType<typeof m>[]) => measuredForGate('2026-09-20', '2026-10-05', '2026-10-01', ms);
    expect(over(m('2026-09-01', '2026-09-30'))).toBe(true);
    expect(over(m('2026-10-01', '2026-10-31'))).toBe(false);
  });

  it('names a KPI measured only in part among the reasons a gate failed', () => {
    const fcr: KpiDefinition = {
      key: 'fcr',
      direction: 'HIGHER_IS_BETTER',
      target: 75,
      minimum: 70,
      weight: 1,
      mandatoryForGates: true,
    };
    const verdict = evaluateGate([fcr], {}, 95, { fcr: { measuredDays: 2, days: 14 } });
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons[0]).toBe(
      "fcr: figures cover 2 of the gate window's 14 days; every finished period must be reported",
    );
  });

  it("forgives a weekly KPI's edge weeks only when their figures cannot be there yet", () => {
    const endedBy = (mondayAfter: string) => (weekEndsOn: string) => weekEndsOn <= mondayAfter;
    // October 2025: Wednesday 1st to Friday 31st; the week over its end (27 Oct–2 Nov) ends when 3 Nov begins
    // reviewed with a day's grace (due 2 Nov): that week has not ended, its 5 October days are forgiven
    expect(forgivenWeekDays('2025-10-01', '2025-10-31', false, endedBy('2025-11-02'))).toEqual({
      atStart: 0,
      atEnd: 5,
    });
    // reviewed on 4 Nov: that week has ended, so its figure must be there (it used to be forgiven at both edges for good)
    expect(forgivenWeekDays('2025-10-01', '2025-10-31', false, endedBy('2025-11-04'))).toEqual({
      atStart: 0,
      atEnd: 0,
    });
    // the week over the start is forgiven in the first period reviewed only (reviews began within it)
    expect(forgivenWeekDays('2025-10-01', '2025-10-31', true, endedBy('2025-11-04'))).toEqual({ atStart: 5, atEnd: 0 });
    // a month that starts on a Monday and ends on a Sunday has no week over its edges
    expect(forgivenWeekDays('2025-09-01', '2025-11-30', true, endedBy('2025-11-30'))).toEqual({ atStart: 0, atEnd: 0 });
  });
});
