import { useMutation, useQueryClient } from '@tanstack/react-query';

import { modelSchema } from '@/features/providers/api/get-models';
import type { Model } from '@/features/providers/api/get-models';
import { api } from '@/lib/api-client';

/** Prices left out come from the server's catalog; an unknown price answers price_unknown. */
export type CreateModelInput = {
  provider_key: number;
  name: string;
  id?: string;
  input_usd_per_mtok?: string;
  output_usd_per_mtok?: string;
  cached_input_usd_per_mtok?: string;
  enabled?: boolean;
};

export const createModel = (input: CreateModelInput): Promise<Model> =>
  api.post('/api/models/', input, modelSchema);

export function useCreateModel() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createModel,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['models'] }),
  });
}
