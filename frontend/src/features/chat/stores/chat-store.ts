import { create } from 'zustand';

/** A refused frame or a send that failed, shown above the composer until dismissed. */
export type ChatNotice = { code: string; message: string; detail?: Record<string, unknown> };

/** A `budget.warning` frame, shown as a banner until dismissed. */
export type BudgetWarning = {
  percent: number;
  spent_usd: string;
  limit_usd: string;
  period_end: string;
};

const warningKey = (warning: BudgetWarning): string => `${warning.percent}@${warning.period_end}`;

/** Which draft a conversation uses; the new-conversation screen (null) has its own. */
export const draftKey = (conversationId: number | null): string =>
  conversationId === null ? 'new' : String(conversationId);

/** A message the user sent that the server has not echoed yet (matched by client_id). */
export type PendingSend = {
  clientId: string;
  conversationId: number | null;
  parentId: number | null | undefined;
  content: string;
};

type ChatState = {
  /** Branch choices per conversation: parent key ("root" or the parent id) → chosen child id. */
  choices: Record<number, Record<string, number>>;
  pending: PendingSend[];
  notice: ChatNotice | undefined;
  budgetWarning: BudgetWarning | undefined;
  /** Warnings already shown (threshold@period_end): each is bannered once per page. */
  seenWarnings: string[];
  /**
   * The composer's text per conversation (see draftKey), so switching conversations does not carry
   * text along; a refused send puts its text back in its own conversation's draft.
   */
  drafts: Record<string, string>;
  choose: (conversationId: number, parentKey: string, childId: number) => void;
  forgetChoice: (conversationId: number, parentKey: string) => void;
  addPending: (pending: PendingSend) => void;
  resolvePending: (clientId: string) => PendingSend | undefined;
  setNotice: (notice: ChatNotice | undefined) => void;
  showBudgetWarning: (warning: BudgetWarning) => void;
  dismissBudgetWarning: () => void;
  setDraft: (conversationId: number | null, text: string) => void;
  restoreDraft: (conversationId: number | null, text: string) => void;
};

/** The store's data before anything happened (and after `resetChatStore`). */
const initialState = () => ({
  choices: {},
  pending: [],
  notice: undefined,
  budgetWarning: undefined,
  seenWarnings: [],
  drafts: {},
});

export const useChatStore = create<ChatState>((set, get) => ({
  ...initialState(),
  choose: (conversationId, parentKey, childId) =>
    set((state) => ({
      choices: {
        ...state.choices,
        [conversationId]: { ...state.choices[conversationId], [parentKey]: childId },
      },
    })),
  forgetChoice: (conversationId, parentKey) =>
    set((state) => {
      const current = state.choices[conversationId];
      if (!current || !(parentKey in current)) return state;
      const { [parentKey]: _gone, ...rest } = current;
      return { choices: { ...state.choices, [conversationId]: rest } };
    }),
  addPending: (pending) => set((state) => ({ pending: [...state.pending, pending] })),
  resolvePending: (clientId) => {
    const found = get().pending.find((item) => item.clientId === clientId);
    if (found) set((state) => ({ pending: state.pending.filter((item) => item !== found) }));
    return found;
  },
  setNotice: (notice) => set({ notice }),
  showBudgetWarning: (warning) =>
    set((state) => {
      const key = warningKey(warning);
      if (state.seenWarnings.includes(key)) return state;
      return { budgetWarning: warning, seenWarnings: [...state.seenWarnings, key] };
    }),
  dismissBudgetWarning: () => set({ budgetWarning: undefined }),
  setDraft: (conversationId, text) =>
    set((state) => {
      const key = draftKey(conversationId);
      if (text) return { drafts: { ...state.drafts, [key]: text } };
      // An emptied draft is forgotten, so the map only holds conversations with text.
      const { [key]: _gone, ...rest } = state.drafts;
      return { drafts: rest };
    }),
  restoreDraft: (conversationId, text) => {
    // Text typed since the send wins over the refused text.
    if (get().drafts[draftKey(conversationId)]?.trim()) return;
    get().setDraft(conversationId, text);
  },
}));

/** The draft of one conversation (null: the new-conversation screen). */
export function useDraft(conversationId: number | null): string {
  return useChatStore((state) => state.drafts[draftKey(conversationId)] ?? '');
}

export function resetChatStore(): void {
  useChatStore.setState(initialState());
}
