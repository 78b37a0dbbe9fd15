/**
 * The SPA's one reader of money strings. The contract sends amounts as decimal strings
 * ("0.000123400", 9 places) and people type them into forms; everything that parses, compares,
 * adds or rounds such a string goes through here. A value is a BigInt over a power of ten, so a
 * JS float never touches money: "0.1 of 0.3" is exactly a third, and a tiny spend is never
 * rounded to zero before it is compared. Only display rounds (see utils/money.ts).
 */

/** `digits / 10^scale`, exactly as written ("1.50" → 150n, 2). */
export type Decimal = { digits: bigint; scale: number };

/** Lenient, for what the server sends: a sign, ".5" and "5." are fine, surrounding blanks too. */
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;
/** Strict, for what people type: digits, optionally a point and more digits. */
const PLAIN = /^(-?)\d+(?:\.(\d+))?$/;

/** Nano-dollars per dollar: the contract's 9-place quantum. */
export const NANO = 1_000_000_000n;
const PLACES = 9;

export const pow10 = (n: number): bigint => 10n ** BigInt(n);

export function parseDecimal(value: string | null | undefined): Decimal | undefined {
  if (value === null || value === undefined) return undefined;
  const match = DECIMAL.exec(value.trim());
  if (!match) return undefined;
  const intPart = match[2] ?? '';
  const frac = match[3] ?? '';
  if (intPart === '' && frac === '') return undefined;
  const digits = BigInt(`${intPart || '0'}${frac}`);
  return { digits: match[1] === '-' ? -digits : digits, scale: frac.length };
}

/**
 * A decimal as a form accepts it: "2.5", not "-1", "1.", ".5", "1e3" or "1,5". `signed` allows a
 * leading minus; `maxPlaces` caps the digits after the point.
 */
export function isDecimalString(
  value: string,
  { signed = false, maxPlaces }: { signed?: boolean; maxPlaces?: number } = {},
): boolean {
  const match = PLAIN.exec(value.trim());
  if (!match) return false;
  if (match[1] === '-' && !signed) return false;
  return maxPlaces === undefined || (match[2] ?? '').length <= maxPlaces;
}

/** floor/ceil division of BigInts (BigInt `/` truncates toward zero). */
export function divFloor(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}
export function divCeil(a: bigint, b: bigint): bigint {
  return -divFloor(-a, b);
}

/** Half away from zero, as people round money (and as the server's display does). */
function divHalfAwayFromZero(a: bigint, b: bigint): bigint {
  const negative = a < 0n !== b < 0n;
  const x = a < 0n ? -a : a;
  const y = b < 0n ? -b : b;
  const q = (x * 2n + y) / (y * 2n);
  return negative ? -q : q;
}

/** The same value with `places` decimals, rounded half away from zero. */
export function roundDecimal(value: Decimal, places: number): Decimal {
  if (value.scale <= places) return { digits: value.digits * pow10(places - value.scale), scale: places };
  return { digits: divHalfAwayFromZero(value.digits, pow10(value.scale - places)), scale: places };
}

/** Digits of a decimal without its sign, split at the point ("-12.50" → ["12", "50"]). */
export function decimalParts(value: Decimal): [string, string] {
  const text = (value.digits < 0n ? -value.digits : value.digits).toString().padStart(value.scale + 1, '0');
  return [text.slice(0, text.length - value.scale), text.slice(text.length - value.scale)];
}

/**
 * Nano-USD as a BigInt, or undefined for null/garbage. Digits past the 9th round toward -∞, as
 * the server's gate reads a budget ("-0.0000000001" is -1 nUSD: it is below zero).
 */
export function toNanos(value: string | null | undefined): bigint | undefined {
  const parsed = parseDecimal(value);
  if (!parsed) return undefined;
  return divFloor(parsed.digits * NANO, pow10(parsed.scale));
}

/** Nano-USD back to a 9-place money string (1_500_000_000n → "1.500000000"), like the server's. */
export function fromNanos(nanos: bigint): string {
  const [intPart, frac] = decimalParts({ digits: nanos, scale: PLACES });
  return `${nanos < 0n ? '-' : ''}${intPart}.${frac}`;
}

/** Nano-USD rounded UP to `decimals` places, as a 9-place string ("Up to" never understates). */
export function fromNanosCeil(nanos: bigint, decimals: number): string {
  const step = pow10(PLACES - decimals);
  return fromNanos(divCeil(nanos, step) * step);
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

/** The exact sum of money strings (garbage counts as zero), as a 9-place string. */
export function sumMoney(values: ReadonlyArray<string | null | undefined>): string {
  let total = 0n;
  for (const value of values) total += toNanos(value) ?? 0n;
  return fromNanos(total);
}

/** A limit as a form shows it: trailing zeros dropped ("10.000000000" → "10"). */
export function trimDecimal(value: string): string {
  const parsed = parseDecimal(value);
  if (!parsed) return value.trim();
  const [intPart, frac] = decimalParts(parsed);
  const kept = frac.replace(/0+$/, '');
  return `${parsed.digits < 0n ? '-' : ''}${intPart}${kept ? `.${kept}` : ''}`;
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
