import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';
import { moneySchema } from '@/types/api';

export const discoveredModelSchema = z.object({
  name: z.string(),
  input_usd_per_mtok: moneySchema.nullable().optional(),
  output_usd_per_mtok: moneySchema.nullable().optional(),
  cached_input_usd_per_mtok: moneySchema.nullable().optional(),
});
export type DiscoveredModel = z.infer<typeof discoveredModelSchema>;

export const keyTestResultSchema = z.object({
  ok: z.boolean(),
  models: z.array(discoveredModelSchema).default([]),
  error: z.object({ code: z.string(), message: z.string() }).nullable().optional(),
});
export type KeyTestResult = z.infer<typeof keyTestResultSchema>;

export const testProviderKey = (id: number): Promise<KeyTestResult> =>
  api.post(`/api/provider-keys/${id}/test/`, {}, keyTestResultSchema);

/**
 * The test call is a POST (it talks to the provider), so it is a mutation; its latest answer is
 * kept in the query cache so the Models page can offer the key's discovered models.
 */
export const keyTestQueryKey = (id: number) => ['provider-keys', id, 'test'] as const;

export function useTestProviderKey() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: testProviderKey,
    onSuccess: (result, id) => queryClient.setQueryData(keyTestQueryKey(id), result),
  });
}

/** The last test result for a key, if one was run in this tab (never fetched by itself). */
export function useLastKeyTest(id: number | undefined) {
  return useQuery<KeyTestResult | null>({
    queryKey: keyTestQueryKey(id ?? -1),
    queryFn: () => null,
    enabled: false,
    staleTime: Infinity,
  });
}
