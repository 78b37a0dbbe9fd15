import {
  absMoney,
  basisPointsToCss,
  basisPointsToPercent,
  compareMoney,
  fromNanos,
  fromNanosCeil,
  isDecimalString,
  isNegativeMoney,
  maxMoney,
  parseDecimal,
  roundDecimal,
  shareBasisPoints,
  sumMoney,
  toNanos,
  trimDecimal,
} from '@/utils/decimal';

describe('parseDecimal', () => {
  it.each([
    ['0', 0n, 0],
    ['1.50', 150n, 2],
    ['-0.000000001', -1n, 9],
    ['.25', 25n, 2],
    ['5.', 5n, 0],
    ['+3', 3n, 0],
    [' 7 ', 7n, 0],
    ['123456789012345678.99', 12345678901234567899n, 2],
  ])('reads %j exactly as digits %s over 10^%i', (text, digits, scale) => {
    expect(parseDecimal(text)).toEqual({ digits, scale });
  });

  it.each([[null], [undefined], [''], ['abc'], ['1,5'], ['1e3'], ['.'], ['-'], ['1.2.3'], ['NaN']])(
    'reads %j as no number',
    (text) => {
      expect(parseDecimal(text)).toBeUndefined();
    },
  );
});

describe('isDecimalString', () => {
  it.each([
    ['0', true],
    ['0.15', true],
    [' 2.5 ', true],
    ['10', true],
    ['', false],
    ['-1', false],
    ['1.', false],
    ['.5', false],
    ['+1', false],
    ['1e3', false],
    ['abc', false],
    ['1,5', false],
  ])('treats %j as valid=%s', (input, expected) => {
    expect(isDecimalString(input)).toBe(expected);
  });

  it('allows a sign and caps the places when asked', () => {
    expect(isDecimalString('-0.5', { signed: true })).toBe(true);
    expect(isDecimalString('0.000000001', { maxPlaces: 9 })).toBe(true);
    expect(isDecimalString('0.0000000001', { maxPlaces: 9 })).toBe(false);
    expect(isDecimalString('7', { maxPlaces: 0 })).toBe(true);
  });
});

describe('roundDecimal', () => {
  it.each<[string, number, bigint]>([
    ['1.005', 2, 101n],
    ['1.004999', 2, 100n],
    ['-1.005', 2, -101n],
    ['-1.004', 2, -100n],
    ['0.9999995', 6, 1_000_000n],
    ['2', 3, 2000n],
    ['0.30000000000000004', 9, 300_000_000n],
  ])('rounds %s to %i places, half away from zero, as %s', (text, places, digits) => {
    expect(roundDecimal(parseDecimal(text)!, places)).toEqual({ digits, scale: places });
  });
});

describe('nano-dollars', () => {
  it.each([
    ['0', 0n],
    ['0.000000001', 1n],
    ['1.5', 1_500_000_000n],
    ['-0.5', -500_000_000n],
    ['5', 5_000_000_000n],
    ['12.0000000019', 12_000_000_001n],
    ['.25', 250_000_000n],
    [' 3 ', 3_000_000_000n],
    // Past the 9th place, toward -∞ (how the server's gate reads a budget).
    ['0.0000000019', 1n],
    ['-0.0000000001', -1n],
  ])('reads %j as %s nano-dollars', (text, nanos) => {
    expect(toNanos(text)).toBe(nanos);
  });

  it.each([[null], [undefined], [''], ['abc'], ['1,5'], ['1e3'], ['.']])('treats %j as no amount', (text) => {
    expect(toNanos(text)).toBeUndefined();
  });

  it.each<[bigint, string]>([
    [0n, '0.000000000'],
    [1n, '0.000000001'],
    [-1n, '-0.000000001'],
    [1_500_000_000n, '1.500000000'],
    [-12_345_678_901n, '-12.345678901'],
  ])('writes %s nano-dollars as %s', (nanos, text) => {
    expect(fromNanos(nanos)).toBe(text);
  });

  it.each<[bigint, number, string]>([
    [2_460_750n, 6, '0.002461000'],
    [1n, 6, '0.000001000'],
    [41_200_000n, 6, '0.041200000'],
    [-1n, 9, '-0.000000001'],
    [-1_500n, 6, '-0.000001000'],
  ])('rounds %s nano-dollars up to %i places as %s', (nanos, decimals, text) => {
    expect(fromNanosCeil(nanos, decimals)).toBe(text);
  });
});

describe('money arithmetic', () => {
  it.each([
    ['0.1', '0.3', 3333],
    ['2.5', '10', 2500],
    ['10', '10', 10000],
    ['10.5', '10', 10000],
    ['0.000000001', '1000000', 0],
    ['0', '0', 0],
    ['0.01', '0', 10000],
    ['-1', '10', 0],
    [null, '10', 0],
  ])('puts %j of %j at %i basis points', (part, whole, bp) => {
    expect(shareBasisPoints(part, whole)).toBe(bp);
  });

  it('compares and finds the largest amount exactly', () => {
    expect(compareMoney('0.100000000', '0.1')).toBe(0);
    expect(compareMoney('0.000000002', '0.000000001')).toBe(1);
    expect(compareMoney('-1', '0')).toBe(-1);
    expect(compareMoney('abc', '1')).toBeUndefined();
    expect(maxMoney(['0.2', '1.000000001', '1'])).toBe('1.000000001');
    expect(maxMoney([])).toBe('0');
    expect(isNegativeMoney('-0.000000001')).toBe(true);
    expect(isNegativeMoney('0')).toBe(false);
    expect(isNegativeMoney('-0')).toBe(false);
    expect(isNegativeMoney(null)).toBe(false);
    expect(absMoney(' -0.50')).toBe('0.50');
  });

  it('adds without float drift', () => {
    expect(sumMoney(['0.1', '0.2'])).toBe('0.300000000');
    expect(sumMoney(['1.25', '0.000045', '-0.5', 'junk', null])).toBe('0.750045000');
    expect(sumMoney([])).toBe('0.000000000');
  });

  it.each([
    ['10.000000000', '10'],
    ['2.500000000', '2.5'],
    ['0.000000001', '0.000000001'],
    ['7', '7'],
    ['-0.50', '-0.5'],
    ['0.000', '0'],
  ])('trims %j to %j', (value, text) => {
    expect(trimDecimal(value)).toBe(text);
  });

  it.each([
    [0, '0.00%', 0],
    [5, '0.05%', 0],
    [3333, '33.33%', 33],
    [10000, '100.00%', 100],
  ])('writes %i basis points as CSS %s and %i percent', (bp, css, percent) => {
    expect(basisPointsToCss(bp)).toBe(css);
    expect(basisPointsToPercent(bp)).toBe(percent);
  });
});
