import { silentConversations } from '@/features/chat/utils/silence';

const answer = (id: number, conversation_id = 1) => ({ id, conversation_id });

describe('silentConversations', () => {
  it('starts the clock of an answer it sees for the first time', () => {
    const heard = new Map<number, number>();
    expect(silentConversations([answer(7)], heard, 1_000, 15_000)).toEqual([]);
    expect(heard.get(7)).toBe(1_000);
  });

  it.each([
    ['heard from just now', 15_999, []],
    ['silent for exactly the limit', 16_000, [1]],
    ['silent for longer', 60_000, [1]],
  ])('refetches an answer %s only once it is silent long enough', (_name, now, expected) => {
    const heard = new Map([[7, 1_000]]);
    expect(silentConversations([answer(7)], heard, now, 15_000)).toEqual(expected);
  });

  it('restarts the clock of every answer of a refetched conversation, once per conversation', () => {
    const heard = new Map([
      [7, 0],
      [8, 0],
      [9, 14_000],
    ]);
    const now = 15_000;
    expect(silentConversations([answer(7), answer(8), answer(9, 2)], heard, now, 15_000)).toEqual([1]);
    expect([heard.get(7), heard.get(8), heard.get(9)]).toEqual([now, now, 14_000]);
  });

  it('forgets answers that are no longer generating', () => {
    const heard = new Map([[7, 0]]);
    expect(silentConversations([], heard, 20_000, 15_000)).toEqual([]);
    expect(heard.size).toBe(0);
  });
});
