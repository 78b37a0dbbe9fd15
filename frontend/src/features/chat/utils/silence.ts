/**
 * Answers that went quiet. Realtime frames are best-effort on some paths (a Redis reconnect, a
 * socket stuck past the server's patience), so an answer the screen shows as generating could
 * wait forever for an ending that was lost. When nothing was heard about such an answer for a
 * while, its conversation is refetched: the stored message is the truth (STYLE rule 8).
 */

/** How long an answer shown as generating may stay without a frame before a refetch. */
export const SILENCE_MS = 15_000;

export type GeneratingAnswer = { id: number; conversation_id: number };

/**
 * The conversations to refetch now. `lastHeard` maps answer ids to the time anything was last
 * heard about them (a frame, a refetch, or first sight) and is kept up to date here: answers no
 * longer generating are forgotten, new ones start their clock at `now`, and answers whose
 * conversation is returned restart theirs, so a conversation that stays silent is refetched once
 * per `silenceMs`, not on every check.
 */
export function silentConversations(
  generating: GeneratingAnswer[],
  lastHeard: Map<number, number>,
  now: number,
  silenceMs: number,
): number[] {
  const live = new Set(generating.map((answer) => answer.id));
  for (const id of lastHeard.keys()) if (!live.has(id)) lastHeard.delete(id);
  const silent = new Set<number>();
  for (const answer of generating) {
    const heard = lastHeard.get(answer.id);
    if (heard === undefined) lastHeard.set(answer.id, now);
    else if (now - heard >= silenceMs) silent.add(answer.conversation_id);
  }
  for (const answer of generating) {
    if (silent.has(answer.conversation_id)) lastHeard.set(answer.id, now);
  }
  return [...silent];
}
