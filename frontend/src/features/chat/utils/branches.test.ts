import type { Message } from '@/features/chat/types/chat';
import { childrenByParent, upsertMessage, visiblePath } from '@/features/chat/utils/branches';

let clock = 0;
function msg(id: number, parent_id: number | null, role: Message['role'] = 'user'): Message {
  clock += 1;
  return {
    id,
    conversation_id: 1,
    parent_id,
    role,
    content: `m${id}`,
    model: 'm',
    status: 'complete',
    error: null,
    usage: null,
    cost_usd: '0',
    created_at: new Date(Date.UTC(2025, 0, 1, 0, 0, clock)).toISOString(),
  };
}

// 1 → 2 → (3 | 5) ; 3 → 4 ; 5 → (6 | 7) ; a second root 8 (an edited first question).
clock = 0;
const tree = [
  msg(1, null),
  msg(2, 1, 'assistant'),
  msg(3, 2),
  msg(4, 3, 'assistant'),
  msg(5, 2),
  msg(6, 5, 'assistant'),
  msg(7, 5, 'assistant'),
  msg(8, null),
];
const ids = (choices: Record<string, number>) => visiblePath(tree, choices).map((s) => s.message.id);

describe('visiblePath', () => {
  it.each<[string, Record<string, number>, number[]]>([
    ['follows the latest child at every fork by default', {}, [8]],
    ['follows a chosen root into its latest branches', { root: 1 }, [1, 2, 5, 7]],
    ['honours a choice deeper in the tree', { root: 1, '2': 3 }, [1, 2, 3, 4]],
    ['honours the older answer of a regenerated pair', { root: 1, '5': 6 }, [1, 2, 5, 6]],
    ['ignores a choice that is not a child of that parent', { root: 1, '2': 6 }, [1, 2, 5, 7]],
    ['ignores a choice of a message that no longer exists', { root: 99 }, [8]],
  ])('%s', (_name, choices, expected) => {
    expect(ids(choices)).toEqual(expected);
  });

  it('reports each step’s position among its siblings', () => {
    const path = visiblePath(tree, { root: 1, '5': 6 });
    expect(path.map((s) => `${s.index + 1}/${s.siblings.length}`)).toEqual(['1/2', '1/1', '2/2', '1/2']);
  });

  it('is empty for an empty conversation', () => {
    expect(visiblePath([])).toEqual([]);
  });

  it('orders siblings by creation time, then id, whatever the input order', () => {
    const [a, b] = [msg(20, null), msg(21, null)];
    const same = { ...b, created_at: a.created_at };
    expect(childrenByParent([same, a]).get('root')?.map((m) => m.id)).toEqual([20, 21]);
  });

  it('stops at a cycle instead of looping', () => {
    const loop = [{ ...msg(30, 31) }, { ...msg(31, 30) }, msg(32, null)];
    expect(visiblePath(loop, { root: 32 }).map((s) => s.message.id)).toEqual([32]);
  });
});

describe('upsertMessage', () => {
  it('appends a new message and replaces a known one in place', () => {
    const list = [msg(40, null), msg(41, 40, 'assistant')];
    const added = upsertMessage(list, msg(42, 41));
    expect(added.map((m) => m.id)).toEqual([40, 41, 42]);
    const replaced = upsertMessage(added, { ...list[1]!, content: 'final' });
    expect(replaced.map((m) => m.content)).toEqual(['m40', 'final', 'm42']);
    expect(list[1]?.content).toBe('m41');
  });
});
