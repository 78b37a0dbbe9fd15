import { useQueryClient } from '@tanstack/react-query';
import type { QueryClient } from '@tanstack/react-query';
import { useCallback, useEffect } from 'react';
import { useNavigate } from 'react-router';

import { normalizeFrame } from '@/features/chat/api/frames';
import type { ChatEvent, OutboundFrame } from '@/features/chat/api/frames';
import { CONVERSATIONS_KEY, getConversationsQueryOptions } from '@/features/chat/api/get-conversations';
import { getMessagesQueryOptions } from '@/features/chat/api/get-messages';
import { applyBudgetUpdate, MY_BUDGET_KEY } from '@/features/chat/api/get-my-budget';
import { useChatStore } from '@/features/chat/stores/chat-store';
import { useDeltaStore } from '@/features/chat/stores/delta-store';
import type { Conversation, Message } from '@/features/chat/types/chat';
import { parentKey, upsertMessage } from '@/features/chat/utils/branches';
import { useSocket, useSocketState, wsClient } from '@/lib/ws-client';

const LISTS_KEY = getConversationsQueryOptions().queryKey.slice(0, 2);

function putMessage(queryClient: QueryClient, message: Message): void {
  queryClient.setQueryData(
    getMessagesQueryOptions(message.conversation_id).queryKey,
    (old: Message[] | undefined) => (old ? upsertMessage(old, message) : old),
  );
}

function patchLists(
  queryClient: QueryClient,
  update: (list: Conversation[]) => Conversation[],
): void {
  queryClient.setQueriesData<Conversation[]>({ queryKey: LISTS_KEY }, (old) =>
    old ? update(old) : old,
  );
}

export type ChatEventContext = {
  queryClient: QueryClient;
  navigate: (to: string) => void;
  currentConversationId: number | null;
};

/** Apply one inbound frame to the query cache and the chat stores. */
export function applyChatEvent(event: ChatEvent, ctx: ChatEventContext): void {
  const { queryClient } = ctx;
  const chat = useChatStore.getState();
  const deltas = useDeltaStore.getState();
  switch (event.type) {
    case 'conversation.created': {
      const { conversation } = event;
      // The tree of a brand-new conversation is empty: no fetch needed, frames fill it.
      queryClient.setQueryData(
        getMessagesQueryOptions(conversation.id).queryKey,
        (old: Message[] | undefined) => old ?? [],
      );
      patchLists(queryClient, (list) =>
        list.some((c) => c.id === conversation.id) ? list : [conversation, ...list],
      );
      void queryClient.invalidateQueries({ queryKey: LISTS_KEY });
      const mine = chat.pending.find((p) => p.clientId === event.client_id);
      if (mine && mine.conversationId === null && ctx.currentConversationId === null) {
        ctx.navigate(`/chat/${conversation.id}`);
      }
      return;
    }
    case 'conversation.updated':
      patchLists(queryClient, (list) =>
        list.map((c) => (c.id === event.conversation.id ? event.conversation : c)),
      );
      return;
    case 'conversation.deleted':
      patchLists(queryClient, (list) => list.filter((c) => c.id !== event.conversation_id));
      queryClient.removeQueries({ queryKey: getMessagesQueryOptions(event.conversation_id).queryKey });
      if (ctx.currentConversationId === event.conversation_id) ctx.navigate('/chat');
      return;
    case 'message.created':
      if (event.client_id) chat.resolvePending(event.client_id);
      putMessage(queryClient, event.message);
      // A new sibling (regenerate, edit) becomes the visible branch.
      chat.forgetChoice(event.message.conversation_id, parentKey(event.message.parent_id));
      return;
    case 'message.delta':
      deltas.applyDelta(event.message_id, event.seq, event.text);
      return;
    case 'message.completed':
    case 'message.failed':
      // Cache first, then drop the stream, so the text never blinks back to the stale content.
      putMessage(queryClient, event.message);
      deltas.clear(event.message.id);
      void queryClient.invalidateQueries({ queryKey: LISTS_KEY });
      return;
    case 'error': {
      const pending = event.client_id ? chat.resolvePending(event.client_id) : undefined;
      if (pending) chat.restoreDraft(pending.conversationId, pending.content);
      chat.setNotice({ code: event.code, message: event.message, detail: event.detail });
      return;
    }
    case 'budget.warning':
      chat.showBudgetWarning({
        percent: event.percent,
        spent_usd: event.spent_usd,
        limit_usd: event.limit_usd,
        period_end: event.period_end,
      });
      // The warning's figures are the budget's; the meter refetches to show what remains.
      void queryClient.invalidateQueries({ queryKey: MY_BUDGET_KEY });
      return;
    case 'budget.updated':
      applyBudgetUpdate(queryClient, event);
      return;
  }
}

/** Mount once on the chat screen: the socket, frame routing and the current subscription. */
export function useChatSocket(currentConversationId: number | null) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const state = useSocketState();
  const onFrame = useCallback(
    (data: unknown) => {
      const event = normalizeFrame(data);
      if (!event) return;
      applyChatEvent(event, {
        queryClient,
        navigate: (to) => void navigate(to),
        currentConversationId,
      });
    },
    [queryClient, navigate, currentConversationId],
  );
  // On reopen every conversation query is refetched: missed frames are not replayed (rule 8).
  useSocket(onFrame, [CONVERSATIONS_KEY]);
  useEffect(() => {
    // Deltas go to a conversation's group; (re)join it whenever the socket is (re)opened.
    if (state === 'live' && currentConversationId !== null) {
      wsClient.send({ type: 'conversation.subscribe', conversation_id: currentConversationId });
    }
  }, [state, currentConversationId]);
  return state;
}

export const sendFrame = (frame: OutboundFrame): void => wsClient.send(frame);
