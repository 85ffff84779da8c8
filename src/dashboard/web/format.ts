/** Display helpers: dates, money, names of codes. */
import { minorDigits } from '../../domain/money';

export function date(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : '—';
}

export function dateTime(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '—';
}

/** An amount in its currency's decimals: "1,234.50 USD", "1,235 JPY" (amounts carry at most 2). */
export function money(amount: string | number, currency: string): string {
  const n = Number(amount);
  const digits = minorDigits(currency);
  return `${n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${currency}`;
}

/** STEADY_STATE → Steady state */
export function label(code: string | null | undefined): string {
  if (!code) return '—';
  const words = code.replaceAll('_', ' ').replaceAll('-', ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "in 3 d 4 h", "2 h ago" */
export function relative(iso: string, nowMs: number): string {
  const diff = Date.parse(iso) - nowMs;
  const abs = Math.abs(diff);
  const d = Math.floor(abs / 86_400_000);
  const h = Math.floor((abs % 86_400_000) / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  const s = Math.floor((abs % 60_000) / 1000);
  const text = d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : m ? `${m} min ${s} s` : `${s} s`;
  return diff >= 0 ? `in ${text}` : `${text} ago`;
}
