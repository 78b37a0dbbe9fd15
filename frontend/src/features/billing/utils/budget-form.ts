/** Parsing what an admin types into a budget editor; pure so it is table-tested. */
import { isDecimalString, trimDecimal } from '@/utils/decimal';

export type BudgetPeriod = 'daily' | 'weekly' | 'monthly' | 'total';
export type BudgetEnforcement = 'hard' | 'soft';

export const PERIODS: BudgetPeriod[] = ['daily', 'weekly', 'monthly', 'total'];
export const ENFORCEMENTS: BudgetEnforcement[] = ['hard', 'soft'];

/** An empty limit means unlimited (null); otherwise a non-negative decimal string, kept as text. */
export function parseLimit(text: string): { ok: true; value: string | null } | { ok: false } {
  const trimmed = text.trim().replace(/^\$/, '');
  if (trimmed === '') return { ok: true, value: null };
  if (!isDecimalString(trimmed, { maxPlaces: 9 })) return { ok: false };
  return { ok: true, value: trimmed };
}

/** "50, 80" → [50, 80] (sorted, unique, 1..100); undefined when any part is not such a number. */
export function parseWarnAt(text: string): number[] | undefined {
  const parts = text
    .split(/[,\s]+/)
    .map((part) => part.trim().replace(/%$/, ''))
    .filter(Boolean);
  const values: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const value = Number(part);
    if (value < 1 || value > 100) return undefined;
    if (!values.includes(value)) values.push(value);
  }
  return values.sort((a, b) => a - b);
}

export function formatWarnAt(values: ReadonlyArray<number>): string {
  return values.join(', ');
}

/** The limit as the editor shows it: trailing zeros dropped ("10.000000000" → "10"). */
export function limitText(value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  return trimDecimal(value);
}
