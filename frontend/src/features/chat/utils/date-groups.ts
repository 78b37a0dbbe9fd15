import type { Conversation } from '@/features/chat/types/chat';

export type DateGroup = 'today' | 'yesterday' | 'previous7' | 'older';
export const DATE_GROUPS: DateGroup[] = ['today', 'yesterday', 'previous7', 'older'];

const startOfDay = (date: Date): number =>
  new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();

/** Which sidebar group a timestamp falls in, by the viewer's local calendar days. Pure. */
export function dateGroup(iso: string, now: Date): DateGroup {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return 'older';
  const today = startOfDay(now);
  const day = startOfDay(when);
  if (day >= today) return 'today';
  const DAY = 86_400_000;
  // Calendar days, not 24 h spans (DST days are 23 or 25 hours long).
  const daysAgo = Math.round((today - day) / DAY);
  if (daysAgo <= 1) return 'yesterday';
  if (daysAgo <= 7) return 'previous7';
  return 'older';
}

/** Conversations grouped for the sidebar, newest first in each group; empty groups left out. */
export function groupConversations(
  conversations: readonly Conversation[],
  now: Date,
): Array<{ group: DateGroup; items: Conversation[] }> {
  const time = (c: Conversation): number => Date.parse(c.updated_at) || 0;
  const sorted = [...conversations].sort((a, b) => time(b) - time(a) || b.id - a.id);
  const buckets = new Map<DateGroup, Conversation[]>();
  for (const conversation of sorted) {
    const group = dateGroup(conversation.updated_at, now);
    buckets.set(group, [...(buckets.get(group) ?? []), conversation]);
  }
  return DATE_GROUPS.filter((group) => buckets.has(group)).map((group) => ({
    group,
    items: buckets.get(group) ?? [],
  }));
}
