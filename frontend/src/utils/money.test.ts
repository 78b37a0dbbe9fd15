import { formatPricePerMtok, formatUsd } from '@/utils/money';

describe('formatUsd', () => {
  it.each([
    ['0', '$0.00'],
    ['0.000000000', '$0.00'],
    ['12.5', '$12.50'],
    ['1234567.891', '$1,234,567.891'],
    ['0.000123400', '$0.000123'],
    ['0.0000005', '$0.000001'],
    ['0.0000004', '$0.00'],
    ['0.9999999', '$1.00'],
    ['999.9999995', '$1,000.00'],
    ['-2', '-$2.00'],
    ['-0.0000001', '$0.00'],
    ['.5', '$0.50'],
    ['0.1', '$0.10'],
    ['00012.30', '$12.30'],
    ['-1234.5', '-$1,234.50'],
    ['-0.0000005', '-$0.000001'],
    ['+3', '$3.00'],
    [' 4 ', '$4.00'],
    ['5.', '$5.00'],
  ])('formats %s as %s', (input, expected) => {
    expect(formatUsd(input)).toBe(expected);
  });

  it.each([[null], [undefined], [''], ['abc'], ['1.2.3'], ['1e5']])(
    'shows an em dash for %s',
    (input) => {
      expect(formatUsd(input)).toBe('—');
    },
  );

  it('honours the decimal bounds it is given', () => {
    expect(formatUsd('1.23456', { minDecimals: 0, maxDecimals: 2 })).toBe('$1.23');
    expect(formatUsd('1.005', { minDecimals: 2, maxDecimals: 2 })).toBe('$1.01');
    expect(formatUsd('7', { minDecimals: 0, maxDecimals: 2 })).toBe('$7');
  });

  it('never goes through floating point', () => {
    // 0.1 + 0.2 style artefacts cannot appear: the digits are rounded as text.
    expect(formatUsd('0.30000000000000004', { maxDecimals: 9 })).toBe('$0.30');
    expect(formatUsd('123456789012345678.99')).toBe('$123,456,789,012,345,678.99');
  });
});

describe('formatPricePerMtok', () => {
  it.each([
    ['0.15', '$0.15 / 1M'],
    ['0.075', '$0.075 / 1M'],
    ['15', '$15.00 / 1M'],
    [null, '—'],
  ])('formats %s as %s', (input, expected) => {
    expect(formatPricePerMtok(input)).toBe(expected);
  });
});
