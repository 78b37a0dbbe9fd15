/**
 * Exact arithmetic on the contract's money strings ("0.000123400") for meters and bar widths.
 * Amounts become BigInt nano-dollars (9 places, the contract's precision); a JS float never
 * touches money, so "0.1 of 0.3" is exactly a third and a tiny spend is never rounded to zero
 * before it is compared.
 */
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const PLACES = 9;

/** Nano-USD as a BigInt, or undefined for null/garbage. Digits past the 9th are dropped. */
export function toNanos(value: string | null | undefined): bigint | undefined {
  if (value === null || value === undefined) return undefined;
  const match = DECIMAL.exec(value.trim());
  if (!match) return undefined;
  const whole = match[2] ?? '';
  const frac = match[3] ?? '';
  if (whole === '' && frac === '') return undefined;
  const nanos = BigInt((whole || '0') + frac.padEnd(PLACES, '0').slice(0, PLACES));
  return match[1] === '-' ? -nanos : nanos;
}

/** -1, 0 or 1; undefined when either side is not a decimal. */
export function compareMoney(a: string | null | undefined, b: string | null | undefined): number | undefined {
  const x = toNanos(a);
  const y = toNanos(b);
  if (x === undefined || y === undefined) return undefined;
  return x < y ? -1 : x > y ? 1 : 0;
}

export function isNegativeMoney(value: string | null | undefined): boolean {
  const nanos = toNanos(value);
  return nanos !== undefined && nanos < 0n;
}

/** The absolute value of a money string, as a money string ("-0.50" → "0.50"). */
export function absMoney(value: string): string {
  return value.trim().replace(/^[+-]/, '');
}

/**
 * Share of `part` in `whole` in basis points (0..10000 = 0..100 %), rounded down, clamped to
 * [0, cap]. A zero or missing whole gives 0 (a $0 limit with no spend shows an empty bar), except
 * that any spend against a $0 limit is full.
 */
export function shareBasisPoints(
  part: string | null | undefined,
  whole: string | null | undefined,
  { cap = 10_000 }: { cap?: number } = {},
): number {
  const p = toNanos(part);
  const w = toNanos(whole);
  if (p === undefined || w === undefined || p <= 0n) return 0;
  if (w <= 0n) return cap;
  const bp = (p * 10_000n) / w;
  return Number(bp > BigInt(cap) ? BigInt(cap) : bp);
}

/** The largest of some money strings (for scaling a bar chart); "0" when there are none. */
export function maxMoney(values: ReadonlyArray<string | null | undefined>): string {
  let best: bigint | undefined;
  let bestText = '0';
  for (const value of values) {
    const nanos = toNanos(value);
    if (nanos !== undefined && (best === undefined || nanos > best)) {
      best = nanos;
      bestText = value as string;
    }
  }
  return bestText;
}

/** Basis points as a CSS percentage ("12.34%"): integer math, then one string. */
export function basisPointsToCss(bp: number): string {
  const whole = Math.trunc(bp / 100);
  const frac = String(bp % 100).padStart(2, '0');
  return `${whole}.${frac}%`;
}

/** Basis points as a whole percent for people ("80 %" style text is left to i18n). */
export function basisPointsToPercent(bp: number): number {
  return Math.trunc(bp / 100);
}

/** Nano-USD back to a 9-place money string ("1500000000" → "1.500000000"). */
export function fromNanos(nanos: bigint): string {
  const negative = nanos < 0n;
  const digits = (negative ? -nanos : nanos).toString().padStart(PLACES + 1, '0');
  const text = `${digits.slice(0, -PLACES)}.${digits.slice(-PLACES)}`;
  return negative ? `-${text}` : text;
}

/** The exact sum of money strings (garbage counts as zero). */
export function sumMoney(values: ReadonlyArray<string | null | undefined>): string {
  let total = 0n;
  for (const value of values) total += toNanos(value) ?? 0n;
  return fromNanos(total);
}
