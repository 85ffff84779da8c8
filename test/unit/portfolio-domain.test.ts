import fc from 'fast-check';
import { LIFECYCLE_STAGES } from '../../src/domain/lifecycle';
import { healthOf, nextMilestone, nextMilestoneUntil, trendOf, type EngagementFacts } from '../../src/domain/portfolio';
import type { ReviewCadence } from '../../src/domain/types';

const NOW = Date.parse('2026-11-23T10:00:00Z');
const none = { P1: 0, P2: 0, P3: 0, P4: 0 };

function facts(overrides: Partial<EngagementFacts> = {}): EngagementFacts {
  return {
    stage: 'STEADY_STATE',
    termEnd: '2028-01-01T00:00:00Z',
    renewalNoticeDays: 90,
    timeZone: 'UTC',
    reviewCadences: ['MONTHLY', 'QUARTERLY'],
    reviewGraceSeconds: 3 * 86_400,
    latestScore: 97,
    openEscalations: none,
    phase: null,
    nextExitStep: null,
    ...overrides,
  };
}

describe('portfolio health', () => {
  it.each([
    [{}, 'GOOD'],
    [{ latestScore: null }, 'GOOD'],
    [{ latestScore: 94.9 }, 'AT_RISK'],
    [{ openEscalations: { ...none, P4: 1 } }, 'AT_RISK'],
    [{ latestScore: 84.9 }, 'CRITICAL'],
    [{ openEscalations: { ...none, P2: 1 } }, 'CRITICAL'],
  ] as Array<[Partial<EngagementFacts>, string]>)('%j is %s', (overrides, health) => {
    expect(healthOf(facts(overrides))).toBe(health);
  });

  it('a held transition gate is critical', () => {
    const phase = {
      name: 'wave-2',
      status: 'HELD' as const,
      gated: true,
      startedAt: '2026-11-01T00:00:00Z',
      minDurationSeconds: 7 * 86_400,
      lastGateAt: '2026-11-20T00:00:00Z',
      holdSeconds: 7 * 86_400,
    };
    expect(healthOf(facts({ phase }))).toBe('CRITICAL');
  });
});

describe('next milestone', () => {
  it('in steady state: the next review after its grace period, before a renewal far away', () => {
    // the month running now closes on 1 December; its review runs three days later
    expect(nextMilestone(facts(), NOW)).toEqual({
      kind: 'review',
      label: 'monthly review',
      at: '2026-12-04T00:00:00.000Z',
    });
  });

  it('within the grace period after a period starts: the review of the one before, still to come', () => {
    // 2 December: November's review runs on the 4th, not December's on 4 January
    expect(nextMilestone(facts(), Date.parse('2026-12-02T10:00:00Z'))?.at).toBe('2026-12-04T00:00:00.000Z');
    // ... and from the 4th on, December's
    expect(nextMilestone(facts(), Date.parse('2026-12-04T00:00:00Z'))?.at).toBe('2027-01-04T00:00:00.000Z');
  });

  it('not the review of a period that began before steady state: governance reviews whole periods from then on', () => {
    // steady state since 20 November: November is not reviewed, December's review on 4 January is next
    const f = facts({ steadySince: '2026-11-20T09:00:00.000Z' });
    expect(nextMilestone(f, Date.parse('2026-12-02T10:00:00Z'))?.at).toBe('2027-01-04T00:00:00.000Z');
    // ... nor while November runs (it used to show November's review, on 4 December, then)
    expect(nextMilestone(f, Date.parse('2026-11-23T10:00:00Z'))?.at).toBe('2027-01-04T00:00:00.000Z');
    // since 1 November, November's is
    const g = facts({ steadySince: '2026-11-01T00:00:00.000Z' });
    expect(nextMilestone(g, Date.parse('2026-12-02T10:00:00Z'))?.at).toBe('2026-12-04T00:00:00.000Z');
  });

  it('the oldest period still waiting for its review, when the grace is longer than a week shortened by DST', () => {
    // Chatham's clocks go forward 45 minutes on Sunday 24 September 2028: that week has 167 hours. With a grace of
    // 167 hours and a second, the week of the 11th is reviewed just after the week of the 18th has closed.
    const f = facts({ timeZone: 'Pacific/Chatham', reviewCadences: ['WEEKLY'], reviewGraceSeconds: 167 * 3600 + 1 });
    const weekOf18thClosed = Date.parse('2028-09-25T00:00:00.500+13:45');
    expect(nextMilestone(f, weekOf18thClosed)?.at).toBe('2028-09-25T00:00:01.000+13:45');
    expect(nextMilestone(f, weekOf18thClosed + 500)?.at).toBe('2028-10-01T23:00:01.000+13:45');
  });

  it('the earliest review of all the cadences, a longer one’s when it comes first', () => {
    // Thursday 3 December with weekly and monthly reviews and a grace of three days: the week of 30 November runs
    // until the 7th (review on the 10th), November's review is on the 4th
    const m = nextMilestone(facts({ reviewCadences: ['WEEKLY', 'MONTHLY'] }), Date.parse('2026-12-03T10:00:00Z'));
    expect(m).toEqual({ kind: 'review', label: 'monthly review', at: '2026-12-04T00:00:00.000Z' });
    // and on Wednesday 2 December, last week's review (the week of 23 November) on the 3rd comes before it
    expect(nextMilestone(facts({ reviewCadences: ['WEEKLY', 'MONTHLY'] }), Date.parse('2026-12-02T10:00:00Z'))).toEqual(
      { kind: 'review', label: 'weekly review', at: '2026-12-03T00:00:00.000Z' },
    );
  });

  it('a renewal evaluation due before the next review comes first', () => {
    // notice deadline = 2027-02-28 − 90 d = 2026-11-30; evaluation 60 days earlier has passed, the deadline has not
    const m = nextMilestone(facts({ termEnd: '2027-02-28T00:00:00Z' }), NOW);
    expect(m).toEqual({ kind: 'renewal', label: 'renewal decision due', at: '2026-11-30T00:00:00.000Z' });
  });

  it("a renewal deadline falls at the start of its day in the engagement's zone, and is ordered as a time", () => {
    // due before 2026-12-04 in Auckland (UTC+13): 2026-12-03 11:00 UTC, six hours before the review (17:00 UTC);
    // as text the review's instant would sort first
    const m = nextMilestone(
      facts({ termEnd: '2027-03-04T00:00:00Z', timeZone: 'Pacific/Auckland', reviewGraceSeconds: 3.25 * 86_400 }),
      NOW,
    );
    expect(m).toEqual({ kind: 'renewal', label: 'renewal decision due', at: '2026-12-04T00:00:00.000+13:00' });
  });

  it("gives every milestone on the engagement's clock, so its date is the engagement's date", () => {
    // a Manila engagement: November's review is due at local midnight on 4 December, 16:00 UTC on the 3rd (its date
    // used to read 2026-12-03 next to renewal dates read in Manila)
    const m = nextMilestone(facts({ timeZone: 'Asia/Manila' }), NOW);
    expect(m).toEqual({ kind: 'review', label: 'monthly review', at: '2026-12-04T00:00:00.000+08:00' });
    expect(Date.parse(m!.at)).toBe(Date.parse('2026-12-03T16:00:00Z'));
    // and an exit step due on a date is due by that date's end there (it used to be its start: a step due today
    // showed as overdue all day)
    const exiting = (dueAt: string | null) =>
      nextMilestone(
        facts({
          stage: 'EXIT',
          timeZone: 'America/Chicago',
          nextExitStep: { kind: 'ACCESS_REVOCATION', dueOn: '2026-12-10', dueAt },
        }),
        NOW,
      )?.at;
    expect(exiting('2026-12-11T05:59:59.999Z')).toBe('2026-12-10T23:59:59.999-06:00');
    // (a plan stored before the instant was kept: the end of its UTC date, as the lifecycle waits for it)
    expect(exiting(null)).toBe('2026-12-10T17:59:59.999-06:00');
  });

  it('in transition: the gate at the end of the minimum duration, or after the hold when held', () => {
    const phase = {
      name: 'wave-1',
      status: 'ACTIVE' as const,
      gated: true,
      startedAt: '2026-11-20T00:00:00Z',
      minDurationSeconds: 14 * 86_400,
      lastGateAt: null,
      holdSeconds: 7 * 86_400,
    };
    expect(nextMilestone(facts({ stage: 'TRANSITION', phase }), NOW)).toEqual({
      kind: 'gate',
      label: 'gate: wave-1',
      at: '2026-12-04T00:00:00.000Z',
    });
    const held = { ...phase, status: 'HELD' as const, lastGateAt: '2026-12-04T00:00:00Z' };
    expect(nextMilestone(facts({ stage: 'TRANSITION', phase: held }), NOW)?.at).toBe('2026-12-11T00:00:00.000Z');
  });

  it('in a phase without a gate: the end of its minimum duration, when the next phase starts', () => {
    const phase = {
      name: 'knowledge-transfer',
      status: 'ACTIVE' as const,
      gated: false,
      startedAt: '2026-11-20T00:00:00Z',
      minDurationSeconds: 7 * 86_400,
      lastGateAt: null,
      holdSeconds: 7 * 86_400,
    };
    expect(nextMilestone(facts({ stage: 'TRANSITION', phase }), NOW)).toEqual({
      kind: 'phase-end',
      label: 'end of phase: knowledge-transfer',
      at: '2026-11-27T00:00:00.000Z',
    });
  });

  it('in exit: the earliest open step, even when overdue', () => {
    const m = nextMilestone(
      facts({ stage: 'EXIT', nextExitStep: { kind: 'DATA_RETURN_AND_DELETION', dueOn: '2026-11-01T00:00:00Z' } }),
      NOW,
    );
    expect(m).toEqual({
      kind: 'exit-step',
      label: 'exit step: data return and deletion',
      at: '2026-11-01T23:59:59.999Z',
    });
  });

  it('nothing is due for a contracted engagement', () => {
    expect(nextMilestone(facts({ stage: 'CONTRACTED' }), NOW)).toBeNull();
  });
});

describe('how long a next milestone holds', () => {
  it('until the next review is due: then the one after it is next', () => {
    const f = facts();
    const { until } = nextMilestoneUntil(f, NOW);
    expect(new Date(until).toISOString()).toBe('2026-12-04T00:00:00.000Z');
    expect(nextMilestone(f, until - 1)).toEqual(nextMilestone(f, NOW));
    expect(nextMilestone(f, until)?.at).toBe('2027-01-04T00:00:00.000Z');
  });

  it('until a renewal instant passes, when that comes first', () => {
    // evaluation 2026-10-01 has passed; the notice deadline 2026-11-30 comes before the month's end
    const f = facts({ termEnd: '2027-02-28T00:00:00Z' });
    expect(new Date(nextMilestoneUntil(f, NOW).until).toISOString()).toBe('2026-11-30T00:00:00.000Z');
  });

  it('for ever in transition and exit, whose milestones do not move with time', () => {
    expect(nextMilestoneUntil(facts({ stage: 'TRANSITION' }), NOW).until).toBe(Infinity);
    expect(nextMilestoneUntil(facts({ stage: 'EXIT' }), NOW).until).toBe(Infinity);
  });

  it('holds: at any instant before it, the next milestone is the one computed now', () => {
    const HOUR = 3_600_000;
    const day = (from: string, days: number) =>
      fc.integer({ min: 0, max: days * 24 }).map((h) => Date.parse(from) + h * HOUR);
    const anyFacts = fc.record({
      stage: fc.constantFrom(...LIFECYCLE_STAGES),
      termEnd: day('2026-06-01T00:00:00Z', 900).map((ms) => new Date(ms).toISOString()),
      renewalNoticeDays: fc.integer({ min: 0, max: 180 }),
      // Zones with DST, half-hour and 45-minute offsets, and a 30-minute DST shift.
      timeZone: fc.constantFrom('UTC', 'America/Los_Angeles', 'Asia/Kolkata', 'Pacific/Chatham', 'Australia/Lord_Howe'),
      reviewCadences: fc.subarray<ReviewCadence>(['WEEKLY', 'MONTHLY', 'QUARTERLY', 'ANNUAL']),
      reviewGraceSeconds: fc.integer({ min: 0, max: 7 * 86_400 }),
      steadySince: fc.option(day('2026-01-01T00:00:00Z', 1200).map((ms) => new Date(ms).toISOString())),
      nextExitStep: fc.option(
        day('2026-06-01T00:00:00Z', 900).map((ms) => ({
          kind: 'KNOWLEDGE_TRANSFER',
          dueOn: new Date(ms).toISOString(),
        })),
      ),
    });
    fc.assert(
      fc.property(
        anyFacts,
        day('2026-01-01T00:00:00Z', 1200),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (overrides, now, fraction) => {
          const f = facts(overrides);
          const { milestone: expected, until } = nextMilestoneUntil(f, now);
          expect(until).toBeGreaterThan(now);
          const last = Number.isFinite(until) ? until - 1 : now + 400 * 24 * HOUR;
          const within = now + Math.floor((last - now) * fraction);
          expect(nextMilestone(f, within)).toEqual(expected);
          expect(nextMilestone(f, last)).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('trend', () => {
  it.each([
    [95, 90, 'up'],
    [90, 95, 'down'],
    [95, 94.5, 'flat'],
    [95, null, null],
  ] as Array<[number, number | null, string | null]>)('%s after %s is %s', (latest, previous, trend) => {
    expect(trendOf(latest, previous)).toBe(trend);
  });
});
