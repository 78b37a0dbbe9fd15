import { useMutation, useQueryClient } from '@tanstack/react-query';

import { modelUrl } from '@/features/providers/api/get-models';
import type { Model } from '@/features/providers/api/get-models';
import { api } from '@/lib/api-client';

export type UpdateModelInput = {
  id: string;
  enabled?: boolean;
  input_usd_per_mtok?: string;
  output_usd_per_mtok?: string;
  cached_input_usd_per_mtok?: string | null;
};

export const updateModel = ({ id, ...changes }: UpdateModelInput): Promise<Model> =>
  api.patch<Model>(modelUrl(id), changes);

export function useUpdateModel() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: updateModel,
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['models'] }),
  });
}
