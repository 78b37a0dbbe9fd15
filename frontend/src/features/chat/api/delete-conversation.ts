import { useMutation, useQueryClient } from '@tanstack/react-query';

import { getConversationsQueryOptions } from '@/features/chat/api/get-conversations';
import { getMessagesQueryOptions } from '@/features/chat/api/get-messages';
import { api } from '@/lib/api-client';

export const deleteConversation = (id: number): Promise<void> =>
  api.delete(`/api/conversations/${id}/`);

export function useDeleteConversation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deleteConversation,
    onSuccess: (_data, id) => {
      queryClient.removeQueries({ queryKey: getMessagesQueryOptions(id).queryKey });
      return queryClient.invalidateQueries({
        queryKey: getConversationsQueryOptions().queryKey.slice(0, 2),
      });
    },
  });
}
