import { formatWarnAt, limitText, parseLimit, parseWarnAt } from '@/features/billing/utils/budget-form';

describe('budget form parsing', () => {
  it.each([
    ['', { ok: true, value: null }],
    ['  ', { ok: true, value: null }],
    ['10', { ok: true, value: '10' }],
    [' 2.50 ', { ok: true, value: '2.50' }],
    ['$5', { ok: true, value: '5' }],
    ['0.000000001', { ok: true, value: '0.000000001' }],
    ['0.0000000001', { ok: false }],
    ['1,5', { ok: false }],
    ['-1', { ok: false }],
    ['1e3', { ok: false }],
    ['abc', { ok: false }],
  ])('reads the limit %j as %j', (text, result) => {
    expect(parseLimit(text)).toEqual(result);
  });

  it.each([
    ['', []],
    ['50, 80', [50, 80]],
    ['80 50 80', [50, 80]],
    ['90%,100', [90, 100]],
    ['0', undefined],
    ['101', undefined],
    ['50.5', undefined],
    ['fifty', undefined],
  ])('reads warnings %j as %j', (text, result) => {
    expect(parseWarnAt(text)).toEqual(result);
  });

  it.each([
    [null, ''],
    ['10.000000000', '10'],
    ['2.500000000', '2.5'],
    ['0.000000001', '0.000000001'],
    ['7', '7'],
  ])('shows the limit %j as %j', (value, text) => {
    expect(limitText(value)).toBe(text);
  });

  it('writes warnings back as a list', () => {
    expect(formatWarnAt([50, 80])).toBe('50, 80');
  });
});
