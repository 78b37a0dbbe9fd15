import { useMutation, useQueryClient } from '@tanstack/react-query';

import { getTokensQueryOptions } from '@/features/tokens/api/get-tokens';
import { api } from '@/lib/api-client';

export const revokeToken = (id: number): Promise<void> => api.delete(`/api/tokens/${id}/`);

export function useRevokeToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: revokeToken,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: getTokensQueryOptions().queryKey }),
  });
}
