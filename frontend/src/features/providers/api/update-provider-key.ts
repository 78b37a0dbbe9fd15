import { useMutation, useQueryClient } from '@tanstack/react-query';

import { getProviderKeysQueryOptions } from '@/features/providers/api/get-provider-keys';
import type { ProviderKey } from '@/features/providers/api/get-provider-keys';
import { api } from '@/lib/api-client';

/** A new api_key rotates the stored secret (CONTRACT "Provider keys"). */
export type UpdateProviderKeyInput = {
  id: number;
  label?: string;
  api_key?: string;
  base_url?: string;
};

export const updateProviderKey = ({ id, ...changes }: UpdateProviderKeyInput) =>
  api.patch<ProviderKey>(`/api/provider-keys/${id}/`, changes);

export function useUpdateProviderKey() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: updateProviderKey,
    onSuccess: () =>
      queryClient.invalidateQueries({ queryKey: getProviderKeysQueryOptions().queryKey }),
  });
}
