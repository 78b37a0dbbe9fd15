import { neverResets, parseBudgetRefusal } from '@/features/chat/utils/budget-refusal';

describe('parseBudgetRefusal', () => {
  it.each([
    ['no detail', null],
    ['an empty detail', {}],
    ['an unknown scope', { scope: 'team', limit_usd: '1' }],
    ['a detail that is not an object', 'used up'],
  ])('finds nothing to explain in %s', (_name, detail) => {
    expect(parseBudgetRefusal(detail)).toBeUndefined();
  });

  it('keeps the known fields and drops the ones it cannot read', () => {
    expect(
      parseBudgetRefusal({
        scope: 'org',
        reason: 'some_future_reason',
        limit_usd: '5.000000000',
        spent_usd: 4.5, // a float is never money: dropped
        period: 'monthly',
        period_end: '2027-01-01T00:00:00Z',
      }),
    ).toEqual({
      scope: 'org',
      reason: undefined,
      limit_usd: '5.000000000',
      spent_usd: undefined,
      period: 'monthly',
      period_end: '2027-01-01T00:00:00Z',
    });
  });
});

describe('neverResets', () => {
  it.each([
    [{ scope: 'user', period: 'total', period_end: null }, true],
    [{ scope: 'token', limit_usd: '1' }, true], // a token's cap has no period
    [{ scope: 'user', period: 'monthly', period_end: '2027-01-01T00:00:00Z' }, false],
    [{ scope: 'token', period: 'daily', period_end: '2027-01-01T00:00:00Z' }, false],
  ])('tells whether %o ever resets', (detail, expected) => {
    const refusal = parseBudgetRefusal(detail);
    expect(refusal && neverResets(refusal)).toBe(expected);
  });
});
