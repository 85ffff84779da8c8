/**
 * Money's smallest unit per currency. Amounts are stored with 2 decimals; a currency with fewer (the yen, the won,
 * the Chilean peso: ISO 4217 says 0) is entered, computed and shown in whole units. One with 3 (the Kuwaiti dinar)
 * keeps the storage's 2. Pure.
 */

const digitsByCurrency = new Map<string, 0 | 1 | 2>();

/** Decimals of the currency's smallest unit as amounts here carry them: 0 or 2 (asked of Intl once per currency). */
export function minorDigits(currency: string): 0 | 1 | 2 {
  let digits = digitsByCurrency.get(currency);
  if (digits === undefined) {
    let intl = 2;
    try {
      intl = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      // Not a currency code Intl knows the shape of: the storage's 2 decimals.
    }
    digits = Math.min(intl, 2) as 0 | 1 | 2;
    digitsByCurrency.set(currency, digits);
  }
  return digits;
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
