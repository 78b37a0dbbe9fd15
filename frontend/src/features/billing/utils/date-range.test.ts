import {
  daysBetween,
  exportCsvUrl,
  isIsoDay,
  isoDay,
  monthToDate,
  rangeProblem,
  rangeQuery,
} from '@/features/billing/utils/date-range';

describe('date range helpers', () => {
  it('starts the default range on the first of the month', () => {
    const now = new Date(2025, 1, 9, 23, 30);
    expect(isoDay(now)).toBe('2025-02-09');
    expect(monthToDate(now)).toEqual({ from: '2025-02-01', to: '2025-02-09' });
  });

  it.each([
    ['2025-01-31', true],
    ['2024-02-29', true],
    ['2025-02-29', false],
    ['2025-13-01', false],
    ['2025-1-01', false],
    ['', false],
  ])('accepts %j as a day: %s', (text, ok) => {
    expect(isIsoDay(text)).toBe(ok);
  });

  it.each([
    ['2025-01-01', '2025-01-31', undefined],
    ['', '', undefined],
    ['2025-01-01', '2025-01-01', undefined],
    ['2025-02-01', '2025-01-31', 'toBeforeFrom'],
    ['01/02/2025', '2025-01-31', 'badFrom'],
    ['2025-01-01', 'tomorrow', 'badTo'],
  ])('judges %j to %j as %s', (from, to, problem) => {
    expect(rangeProblem(from, to)).toBe(problem);
  });

  it('builds query strings and the CSV link with the range', () => {
    expect(rangeQuery({ from: '2025-01-01', to: '2025-01-31' }, { page: 2, user: undefined })).toBe(
      '?from=2025-01-01&to=2025-01-31&page=2',
    );
    expect(rangeQuery({ from: '', to: '' })).toBe('');
    expect(exportCsvUrl({ from: '2025-01-01', to: '' })).toBe('/api/usage/export.csv?from=2025-01-01');
  });

  it('lists every day of a range, across months and leap days', () => {
    expect(daysBetween('2024-02-28', '2024-03-01')).toEqual(['2024-02-28', '2024-02-29', '2024-03-01']);
    expect(daysBetween('2025-01-01', '2025-01-01')).toEqual(['2025-01-01']);
    expect(daysBetween('2025-01-02', '2025-01-01')).toEqual([]);
    expect(daysBetween('2020-01-01', '2025-01-01')).toHaveLength(400);
  });
});
