import { useMutation, useQueryClient } from '@tanstack/react-query';

import { getProviderKeysQueryOptions } from '@/features/providers/api/get-provider-keys';
import { api } from '@/lib/api-client';

export const deleteProviderKey = (id: number): Promise<void> =>
  api.delete(`/api/provider-keys/${id}/`);

export function useDeleteProviderKey() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deleteProviderKey,
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: getProviderKeysQueryOptions().queryKey });
      // Models hang off keys; the server may have removed or orphaned some.
      await queryClient.invalidateQueries({ queryKey: ['models'] });
    },
  });
}
