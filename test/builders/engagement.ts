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
    ...overrides,
  };
}
