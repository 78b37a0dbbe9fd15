import { useQueryClient } from '@tanstack/react-query';
import type { QueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef } from 'react';
import { useNavigate } from 'react-router';

import { normalizeFrame } from '@/features/chat/api/frames';
import type { ChatEvent, OutboundFrame } from '@/features/chat/api/frames';
import { CONVERSATIONS_KEY, getConversationsQueryOptions } from '@/features/chat/api/get-conversations';
import { getMessagesQueryOptions } from '@/features/chat/api/get-messages';
import { applyBudgetUpdate, MY_BUDGET_KEY } from '@/features/chat/api/get-my-budget';
import { useChatStore } from '@/features/chat/stores/chat-store';
import { useDeltaStore } from '@/features/chat/stores/delta-store';
import { isGenerating } from '@/features/chat/types/chat';
import type { Conversation, Message } from '@/features/chat/types/chat';
import { parentKey, upsertMessage } from '@/features/chat/utils/branches';
import { SILENCE_MS, silentConversations } from '@/features/chat/utils/silence';
import type { GeneratingAnswer } from '@/features/chat/utils/silence';
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

/** The silence watch's timing; tests shorten it. */
export const silenceWatch = { silenceMs: SILENCE_MS };

/** The answer a frame is about, when it is one. */
function answerOf(event: ChatEvent): number | undefined {
  switch (event.type) {
    case 'message.created':
    case 'message.completed':
    case 'message.failed':
      return event.message.id;
    case 'message.delta':
      return event.message_id;
    default:
      return undefined;
  }
}

/** Every answer the message caches show as still generating. */
function generatingAnswers(queryClient: QueryClient): GeneratingAnswer[] {
  const answers: GeneratingAnswer[] = [];
  const cached = queryClient.getQueriesData<Message[]>({ queryKey: CONVERSATIONS_KEY });
  for (const [queryKey, messages] of cached) {
    if (queryKey.at(-1) !== 'messages' || !Array.isArray(messages)) continue;
    for (const message of messages) if (isGenerating(message)) answers.push(message);
  }
  return answers;
}

/**
 * Refetch a conversation whose generating answer went silent for `silenceWatch.silenceMs`: its
 * ending may have been lost on the way. Returns the function that records a frame as heard.
 */
function useSilenceWatch(): (event: ChatEvent) => void {
  const queryClient = useQueryClient();
  const lastHeard = useRef(new Map<number, number>());
  useEffect(() => {
    const { silenceMs } = silenceWatch;
    const timer = setInterval(
      () => {
        const silent = silentConversations(
          generatingAnswers(queryClient),
          lastHeard.current,
          Date.now(),
          silenceMs,
        );
        for (const conversationId of silent) {
          void queryClient.invalidateQueries({
            queryKey: getMessagesQueryOptions(conversationId).queryKey,
          });
        }
      },
      Math.max(50, silenceMs / 3),
    );
    return () => clearInterval(timer);
  }, [queryClient]);
  return useCallback((event: ChatEvent) => {
    const id = answerOf(event);
    if (id !== undefined) lastHeard.current.set(id, Date.now());
  }, []);
}

/** Mount once on the chat screen: the socket, frame routing and the current subscription. */
export function useChatSocket(currentConversationId: number | null) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const state = useSocketState();
  const heard = useSilenceWatch();
  const onFrame = useCallback(
    (data: unknown) => {
      const event = normalizeFrame(data);
      if (!event) return;
      heard(event);
      applyChatEvent(event, {
        queryClient,
        navigate: (to) => void navigate(to),
        currentConversationId,
      });
    },
    [queryClient, navigate, currentConversationId, heard],
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
