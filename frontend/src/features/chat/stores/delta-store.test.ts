import { nextStream, useDeltaStore } from '@/features/chat/stores/delta-store';
import type { Stream } from '@/features/chat/stores/delta-store';

describe('nextStream', () => {
  it.each<[string, Stream | undefined, number, string, Stream | undefined]>([
    ['starts a stream at seq 0', undefined, 0, 'He', { seq: 0, text: 'He', partial: false }],
    ['appends the next seq', { seq: 0, text: 'He', partial: false }, 1, 'llo', { seq: 1, text: 'Hello', partial: false }],
    ['drops a repeated seq', { seq: 1, text: 'Hello', partial: false }, 1, 'llo', undefined],
    ['drops a stale seq', { seq: 3, text: 'abcd', partial: false }, 2, 'c', undefined],
    ['accepts a gap (delivery is best-effort)', { seq: 0, text: 'a', partial: false }, 2, 'c', { seq: 2, text: 'ac', partial: false }],
    ['marks a stream joined mid-way as partial', undefined, 5, 'xyz', { seq: 5, text: 'xyz', partial: true }],
  ])('%s', (_name, current, seq, text, expected) => {
    expect(nextStream(current, seq, text)).toEqual(expected);
  });
});

describe('useDeltaStore', () => {
  afterEach(() => useDeltaStore.getState().clearAll());

  it('keeps one stream per message and clears one without touching the others', () => {
    const { applyDelta, clear } = useDeltaStore.getState();
    applyDelta(1, 0, 'a');
    applyDelta(2, 0, 'x');
    applyDelta(1, 1, 'b');
    applyDelta(1, 1, 'b');
    expect(useDeltaStore.getState().streams[1]?.text).toBe('ab');
    clear(1);
    expect(useDeltaStore.getState().streams[1]).toBeUndefined();
    expect(useDeltaStore.getState().streams[2]?.text).toBe('x');
  });
});
