/** Data builders: a valid request body by default, overridden field by field in each test. */
export function aVendor(overrides: Record<string, unknown> = {}) {
  return { legalName: `Vendor ${Math.random().toString(36).slice(2, 8)}`, deliveryModel: 'OFFSHORE', ...overrides };
}

export function anEngagement(vendorId: string, overrides: Record<string, unknown> = {}) {
  return {
    vendorId,
    name: 'Tier-1 customer support',
    clientOrganisation: 'Globex Retail',
    sourcingApproach: 'STRATEGIC',
    termStart: '2026-01-01',
    termEnd: '2028-12-31',
    monthlyFee: '100000.00',
    currency: 'USD',
    processesInScope: ['customer support'],
    renewalNoticeDays: 90,
    atRiskPct: 10,
    slas: [
      aSla(),
      aSla({
        key: 'aht',
        name: 'Average handle time',
        unit: 's',
        direction: 'LOWER_IS_BETTER',
        target: 360,
        minimum: 420,
        weight: 1,
        mandatoryForGates: false,
        creditTiers: [],
      }),
    ],
    escalationLevels: [
      { level: 1, role: 'operations lead', contactName: 'Olu Ops', contactEmail: 'ops@vendor.example' },
      { level: 2, role: 'account manager', contactName: 'Ana Account', contactEmail: 'am@vendor.example' },
    ],
    councilMembers: [{ name: 'Sam Sponsor', email: 'sponsor@client.example', role: 'EXECUTIVE_SPONSOR' }],
    ...overrides,
  };
}

export function aSla(overrides: Record<string, unknown> = {}) {
  return {
    key: 'fcr',
    name: 'First call resolution',
    unit: '%',
    direction: 'HIGHER_IS_BETTER',
    target: 75,
    minimum: 70,
    weight: 3,
    measurementPeriod: 'MONTHLY',
    mandatoryForGates: true,
    creditTiers: [
      { maxShortfall: 2, creditPct: 1 },
      { maxShortfall: null, creditPct: 3 },
    ],
    ...overrides,
  };
}

export function aKpiSubmission(overrides: Record<string, unknown> = {}) {
  return {
    periodStart: '2026-10-01',
    periodEnd: '2026-10-31',
    source: 'vendor-portal',
    measurements: [
      { kpiKey: 'fcr', value: 76.5 },
      { kpiKey: 'aht', value: 350 },
    ],
    ...overrides,
  };
}
