import { useMutation, useQueryClient } from '@tanstack/react-query';

import { getProviderKeysQueryOptions, providerKeySchema } from '@/features/providers/api/get-provider-keys';
import type { ProviderKey } from '@/features/providers/api/get-provider-keys';
import { api } from '@/lib/api-client';

export type CreateProviderKeyInput = {
  provider: string;
  label: string;
  api_key: string;
  base_url?: string;
};

export const createProviderKey = (input: CreateProviderKeyInput): Promise<ProviderKey> =>
  api.post('/api/provider-keys/', input, providerKeySchema);

export function useCreateProviderKey() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createProviderKey,
    onSuccess: () =>
      queryClient.invalidateQueries({ queryKey: getProviderKeysQueryOptions().queryKey }),
  });
}
