import { useMutation, useQueryClient } from '@tanstack/react-query';

import { modelUrl } from '@/features/providers/api/get-models';
import { api } from '@/lib/api-client';

export const deleteModel = (id: string): Promise<void> => api.delete(modelUrl(id));

export function useDeleteModel() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deleteModel,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['models'] }),
  });
}
