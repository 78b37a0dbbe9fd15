/** Dates come as ISO 8601 UTC; show them in the viewer's locale and zone. */
export function formatDateTime(value: string | null | undefined, locale?: string): string {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '—';
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** Every IANA zone the browser knows, with the browser's own first; a short list as fallback. */
export function timeZones(): string[] {
  const own = browserTimeZone();
  let zones: string[] = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [];
  }
  if (zones.length === 0) zones = ['UTC', 'Europe/London', 'Europe/Madrid', 'America/New_York'];
  return zones.includes(own) ? zones : [own, ...zones];
}

/** A moment spelled out in the viewer's locale and zone ("January 1, 2027 at 12:00 AM"). */
export function formatDateTimeLong(value: string, locale?: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeStyle: 'short' }).format(date);
}
