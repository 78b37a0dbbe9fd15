/**
 * Money display without floats. Amounts arrive as decimal strings ("0.000123400"); rounding is
 * done on the digits (half away from zero), so "0.1" + formatting never shows 0.10000000000000001.
 */
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

export function isDecimalString(value: string): boolean {
  return /^\d+(\.\d+)?$/.test(value.trim());
}

function roundDigits(intPart: string, fracPart: string, decimals: number): [string, string] {
  const padded = fracPart.padEnd(decimals + 1, '0');
  const kept = padded.slice(0, decimals);
  const roundUp = Number(padded[decimals]) >= 5;
  if (!roundUp) return [intPart, kept];
  // Add one unit in the last kept place, carrying through the whole digit string.
  const digits = (intPart + kept).split('').map(Number);
  let i = digits.length - 1;
  for (; i >= 0; i -= 1) {
    const digit = digits[i] ?? 0;
    if (digit < 9) {
      digits[i] = digit + 1;
      break;
    }
    digits[i] = 0;
  }
  const joined = (i < 0 ? '1' : '') + digits.join('');
  const cut = joined.length - decimals;
  return [joined.slice(0, cut), joined.slice(cut)];
}

function groupThousands(intPart: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export type FormatUsdOptions = { minDecimals?: number; maxDecimals?: number };

/** "$1,234.50", "$0.000123", "-$2.00"; null/undefined/garbage show as an em dash. */
export function formatUsd(
  value: string | null | undefined,
  { minDecimals = 2, maxDecimals = 6 }: FormatUsdOptions = {},
): string {
  if (value === null || value === undefined) return '—';
  const match = DECIMAL.exec(value.trim());
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) return '—';
  const sign = match[1] === '-' ? '-' : '';
  const [intRaw, frac] = roundDigits(match[2] || '0', match[3] ?? '', maxDecimals);
  let trimmed = frac.replace(/0+$/, '');
  if (trimmed.length < minDecimals) trimmed = trimmed.padEnd(minDecimals, '0');
  const intPart = intRaw.replace(/^0+(?=\d)/, '') || '0';
  const isZero = /^0*$/.test(intPart + trimmed);
  const body = `$${groupThousands(intPart)}${trimmed ? `.${trimmed}` : ''}`;
  return sign && !isZero ? `${sign}${body}` : body;
}

/** Per-million-token prices: "$0.15 / 1M". */
export function formatPricePerMtok(value: string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return `${formatUsd(value, { minDecimals: 2, maxDecimals: 6 })} / 1M`;
}
