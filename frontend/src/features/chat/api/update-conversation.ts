import { useMutation, useQueryClient } from '@tanstack/react-query';

import { getConversationsQueryOptions } from '@/features/chat/api/get-conversations';
import { conversationSchema } from '@/features/chat/types/chat';
import type { Conversation } from '@/features/chat/types/chat';
import { api } from '@/lib/api-client';

export type UpdateConversationInput = {
  id: number;
  title?: string;
  archived?: boolean;
  model?: string;
};

export const updateConversation = ({ id, ...changes }: UpdateConversationInput): Promise<Conversation> =>
  api.patch(`/api/conversations/${id}/`, changes, conversationSchema);

export function useUpdateConversation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: updateConversation,
    onSettled: () =>
      queryClient.invalidateQueries({ queryKey: getConversationsQueryOptions().queryKey.slice(0, 2) }),
  });
}
