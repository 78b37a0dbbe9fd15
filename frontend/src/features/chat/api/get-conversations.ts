import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { conversationSchema } from '@/features/chat/types/chat';
import type { Conversation } from '@/features/chat/types/chat';
import { api } from '@/lib/api-client';

/** Every conversation query starts with this key; reopening the socket invalidates it all. */
export const CONVERSATIONS_KEY = ['conversations'] as const;

export const getConversations = ({ q }: { q: string }): Promise<Conversation[]> => {
  const query = q.trim() ? `?q=${encodeURIComponent(q.trim())}` : '';
  return api.get(`/api/conversations/${query}`, z.array(conversationSchema));
};

export const getConversationsQueryOptions = ({ q = '' }: { q?: string } = {}) =>
  queryOptions({
    queryKey: [...CONVERSATIONS_KEY, 'list', { q: q.trim() }],
    queryFn: () => getConversations({ q }),
  });

export const useConversations = ({ q = '' }: { q?: string } = {}) =>
  useQuery({ ...getConversationsQueryOptions({ q }), placeholderData: (previous) => previous });
