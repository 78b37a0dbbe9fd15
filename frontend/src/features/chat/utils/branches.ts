import type { Message } from '@/features/chat/types/chat';

/**
 * The message tree (parent_id links) and the one branch the screen shows. Pure, table-tested.
 *
 * At every fork the visible child is the user's choice if it still exists, otherwise the latest
 * child, so a regenerated answer or an edited question shows up as soon as it is created.
 */
export const ROOT = 'root';
export const parentKey = (parentId: number | null): string =>
  parentId === null ? ROOT : String(parentId);

export type PathStep = {
  message: Message;
  /** 0-based position among its siblings, oldest first. */
  index: number;
  siblings: Message[];
};

const byAge = (a: Message, b: Message): number =>
  a.created_at === b.created_at ? a.id - b.id : a.created_at < b.created_at ? -1 : 1;

export function childrenByParent(messages: readonly Message[]): Map<string, Message[]> {
  const map = new Map<string, Message[]>();
  for (const message of messages) {
    const key = parentKey(message.parent_id);
    const list = map.get(key);
    if (list) list.push(message);
    else map.set(key, [message]);
  }
  for (const list of map.values()) list.sort(byAge);
  return map;
}

export function visiblePath(
  messages: readonly Message[],
  choices: Readonly<Record<string, number>> = {},
): PathStep[] {
  const children = childrenByParent(messages);
  const path: PathStep[] = [];
  const seen = new Set<number>();
  let key = ROOT;
  for (;;) {
    const siblings = children.get(key);
    if (!siblings || siblings.length === 0) return path;
    const chosen = choices[key];
    let index = chosen === undefined ? -1 : siblings.findIndex((m) => m.id === chosen);
    if (index < 0) index = siblings.length - 1;
    const message = siblings[index];
    // A cycle cannot come from the server, but a corrupt cache must not hang the tab.
    if (!message || seen.has(message.id)) return path;
    seen.add(message.id);
    path.push({ message, index, siblings });
    key = String(message.id);
  }
}

/** Insert or replace one message (by id) in a list, keeping the list's identity otherwise. */
export function upsertMessage(messages: readonly Message[], message: Message): Message[] {
  const at = messages.findIndex((m) => m.id === message.id);
  if (at < 0) return [...messages, message];
  const next = messages.slice();
  next[at] = message;
  return next;
}
