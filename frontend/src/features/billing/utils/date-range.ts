/** Date ranges for the usage dashboard: plain YYYY-MM-DD strings, as the API's from/to take. */
const DAY = /^\d{4}-\d{2}-\d{2}$/;

const pad = (value: number): string => String(value).padStart(2, '0');

/** The viewer's local calendar date of `now`. */
export function isoDay(now: Date): string {
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** From the first of this month to today: the dashboard's default range. */
export function monthToDate(now: Date): { from: string; to: string } {
  return { from: `${now.getFullYear()}-${pad(now.getMonth() + 1)}-01`, to: isoDay(now) };
}

export function isIsoDay(value: string): boolean {
  if (!DAY.test(value)) return false;
  const [y, m, d] = value.split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** Why a range cannot be asked for, as an i18n key, or undefined when it is fine. */
export function rangeProblem(from: string, to: string): 'badFrom' | 'badTo' | 'toBeforeFrom' | undefined {
  if (from && !isIsoDay(from)) return 'badFrom';
  if (to && !isIsoDay(to)) return 'badTo';
  // ISO dates compare correctly as strings.
  if (from && to && to < from) return 'toBeforeFrom';
  return undefined;
}

/** `?from=&to=` with empty bounds left out, plus any extra parameters. */
export function rangeQuery(
  range: { from: string; to: string },
  extra: Record<string, string | number | undefined> = {},
): string {
  const params = new URLSearchParams();
  if (range.from) params.set('from', range.from);
  if (range.to) params.set('to', range.to);
  for (const [key, value] of Object.entries(extra)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function exportCsvUrl(range: { from: string; to: string }): string {
  return `/api/usage/export.csv${rangeQuery(range)}`;
}

/** Every day from `from` to `to` inclusive (for a daily chart with no gaps); at most 400. */
export function daysBetween(from: string, to: string): string[] {
  if (!isIsoDay(from) || !isIsoDay(to) || to < from) return [];
  const [y, m, d] = from.split('-').map(Number) as [number, number, number];
  const cursor = new Date(Date.UTC(y, m - 1, d));
  const days: string[] = [];
  while (days.length < 400) {
    const day = `${cursor.getUTCFullYear()}-${pad(cursor.getUTCMonth() + 1)}-${pad(cursor.getUTCDate())}`;
    if (day > to) break;
    days.push(day);
    cursor.setUTCDate(cursor.getUTCDate() + 1);
  }
  return days;
}
