/**
 * Money's smallest unit per currency. Amounts are stored with 2 decimals; a currency with fewer (the yen, the won,
 * the Chilean peso: ISO 4217 says 0) is entered, computed and shown in whole units. One with 3 (the Kuwaiti dinar)
 * keeps the storage's 2. Pure.
 */

/** Decimals of the currency's smallest unit as amounts here carry them: 0 or 2. */
export function minorDigits(currency: string): 0 | 1 | 2 {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // Not a currency code Intl knows the shape of: the storage's 2 decimals.
  }
  return Math.min(digits, 2) as 0 | 1 | 2;
}

/** Cents in the currency's smallest unit: 100 for the yen, 1 for the dollar. */
export function centsPerMinorUnit(currency: string): number {
  return 10 ** (2 - minorDigits(currency));
}

/** "USD 1,234.50", "JPY 1,235" (amounts in cents). */
export function money(cents: number, currency: string): string {
  const digits = minorDigits(currency);
  const amount = (cents / 100).toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  return `${currency} ${amount}`;
}
