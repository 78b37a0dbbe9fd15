import type { Conversation } from '@/features/chat/types/chat';
import { dateGroup, groupConversations } from '@/features/chat/utils/date-groups';

// Local time, so the table reads the same in every machine's time zone.
const now = new Date(2025, 5, 15, 9, 30);
const at = (day: number, hour = 12) => new Date(2025, 5, day, hour).toISOString();

describe('dateGroup', () => {
  it.each([
    ['earlier today', at(15, 0), 'today'],
    ['later today (clock skew)', at(15, 23), 'today'],
    ['yesterday just before midnight', at(14, 23), 'yesterday'],
    ['yesterday just after midnight', at(14, 0), 'yesterday'],
    ['two days ago', at(13), 'previous7'],
    ['seven days ago', at(8), 'previous7'],
    ['eight days ago', at(7), 'older'],
    ['last year', new Date(2024, 5, 15).toISOString(), 'older'],
    ['garbage', 'not a date', 'older'],
  ])('puts %s in %s', (_name, iso, expected) => {
    expect(dateGroup(iso, now)).toBe(expected);
  });
});

describe('groupConversations', () => {
  const conv = (id: number, updated_at: string): Conversation => ({
    id,
    title: `c${id}`,
    model: 'm',
    system_prompt: '',
    created_at: updated_at,
    updated_at,
    archived: false,
  });

  it('groups newest first and leaves out empty groups', () => {
    const groups = groupConversations(
      [conv(1, at(1)), conv(2, at(15, 8)), conv(3, at(15, 9)), conv(4, at(10))],
      now,
    );
    expect(groups.map((g) => [g.group, g.items.map((c) => c.id)])).toEqual([
      ['today', [3, 2]],
      ['previous7', [4]],
      ['older', [1]],
    ]);
  });
});
