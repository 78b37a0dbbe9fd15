import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { CONVERSATIONS_KEY } from '@/features/chat/api/get-conversations';
import { messageSchema } from '@/features/chat/types/chat';
import type { Message } from '@/features/chat/types/chat';
import { api } from '@/lib/api-client';

/** The whole tree of one conversation; frames keep it current between fetches. */
export const getMessages = (conversationId: number): Promise<Message[]> =>
  api.get(`/api/conversations/${conversationId}/messages/`, z.array(messageSchema));

export const getMessagesQueryOptions = (conversationId: number) =>
  queryOptions({
    queryKey: [...CONVERSATIONS_KEY, conversationId, 'messages'],
    queryFn: () => getMessages(conversationId),
    // Frames update this cache; a background refetch would only race them.
    staleTime: Infinity,
  });

export const useMessages = (conversationId: number | null) =>
  useQuery({
    ...getMessagesQueryOptions(conversationId ?? 0),
    enabled: conversationId !== null,
  });
