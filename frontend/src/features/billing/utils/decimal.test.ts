import {
  basisPointsToCss,
  compareMoney,
  fromNanos,
  isNegativeMoney,
  maxMoney,
  shareBasisPoints,
  sumMoney,
  toNanos,
} from '@/features/billing/utils/decimal';

describe('decimal money helpers', () => {
  it.each([
    ['0', 0n],
    ['0.000000001', 1n],
    ['1.5', 1_500_000_000n],
    ['-0.5', -500_000_000n],
    ['12.0000000019', 12_000_000_001n],
    ['.25', 250_000_000n],
    [' 3 ', 3_000_000_000n],
  ])('reads %j as %s nano-dollars', (text, nanos) => {
    expect(toNanos(text)).toBe(nanos);
  });

  it.each([[null], [undefined], [''], ['abc'], ['1,5'], ['1e3'], ['.']])('treats %j as no amount', (text) => {
    expect(toNanos(text)).toBeUndefined();
  });

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
    expect(compareMoney('abc', '1')).toBeUndefined();
    expect(maxMoney(['0.2', '1.000000001', '1'])).toBe('1.000000001');
    expect(maxMoney([])).toBe('0');
    expect(isNegativeMoney('-0.000000001')).toBe(true);
    expect(isNegativeMoney('0')).toBe(false);
    expect(isNegativeMoney(null)).toBe(false);
  });

  it('adds without float drift', () => {
    expect(sumMoney(['0.1', '0.2'])).toBe('0.300000000');
    expect(sumMoney(['1.25', '0.000045', '-0.5', 'junk', null])).toBe('0.750045000');
    expect(sumMoney([])).toBe('0.000000000');
    expect(fromNanos(-1n)).toBe('-0.000000001');
  });

  it.each([
    [0, '0.00%'],
    [5, '0.05%'],
    [3333, '33.33%'],
    [10000, '100.00%'],
  ])('writes %i basis points as CSS %s', (bp, css) => {
    expect(basisPointsToCss(bp)).toBe(css);
  });
});
