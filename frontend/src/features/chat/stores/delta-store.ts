import { create } from 'zustand';

/**
 * In-flight stream text, keyed by assistant message id (STYLE rule 23). Deltas are best-effort:
 * a repeated or stale `seq` is dropped; a stream first seen after seq 0 (a tab that joined
 * mid-stream) is marked `partial`, and the UI keeps showing the stored content for it. The entry
 * is cleared once `message.completed`/`failed` has put the final message in the query cache.
 */
export type Stream = { seq: number; text: string; partial: boolean };

type DeltaState = {
  streams: Record<number, Stream>;
  applyDelta: (messageId: number, seq: number, text: string) => void;
  clear: (messageId: number) => void;
  clearAll: () => void;
};

export function nextStream(current: Stream | undefined, seq: number, text: string): Stream | undefined {
  if (!current) return { seq, text, partial: seq > 0 };
  if (seq <= current.seq) return undefined;
  return { seq, text: current.text + text, partial: current.partial };
}

export const useDeltaStore = create<DeltaState>((set) => ({
  streams: {},
  applyDelta: (messageId, seq, text) =>
    set((state) => {
      const next = nextStream(state.streams[messageId], seq, text);
      return next ? { streams: { ...state.streams, [messageId]: next } } : state;
    }),
  clear: (messageId) =>
    set((state) => {
      if (!(messageId in state.streams)) return state;
      const { [messageId]: _gone, ...rest } = state.streams;
      return { streams: rest };
    }),
  clearAll: () => set({ streams: {} }),
}));

/** The text to show for a message while it streams, or undefined to show the stored content. */
export function useStreamText(messageId: number): string | undefined {
  return useDeltaStore((state) => {
    const stream = state.streams[messageId];
    return stream && !stream.partial ? stream.text : undefined;
  });
}

export function useIsStreaming(messageId: number): boolean {
  return useDeltaStore((state) => messageId in state.streams);
}
