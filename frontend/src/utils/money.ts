/**
 * Money display. Amounts are parsed and rounded by utils/decimal.ts (BigInt, half away from
 * zero), so formatting "0.1" never shows 0.10000000000000001.
 */
import { decimalParts, parseDecimal, roundDecimal } from '@/utils/decimal';

function groupThousands(intPart: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export type FormatUsdOptions = { minDecimals?: number; maxDecimals?: number };

/** "$1,234.50", "$0.000123", "-$2.00"; null/undefined/garbage show as an em dash. */
export function formatUsd(
  value: string | null | undefined,
  { minDecimals = 2, maxDecimals = 6 }: FormatUsdOptions = {},
): string {
  const parsed = parseDecimal(value);
  if (!parsed) return '—';
  const rounded = roundDecimal(parsed, maxDecimals);
  const [intPart, frac] = decimalParts(rounded);
  const trimmed = frac.replace(/0+$/, '').padEnd(minDecimals, '0');
  // A negative amount that rounds to zero shows as "$0.00", not "-$0.00".
  const sign = rounded.digits < 0n ? '-' : '';
  return `${sign}$${groupThousands(intPart)}${trimmed ? `.${trimmed}` : ''}`;
}

/** Per-million-token prices: "$0.15 / 1M". */
export function formatPricePerMtok(value: string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return `${formatUsd(value, { minDecimals: 2, maxDecimals: 6 })} / 1M`;
}
