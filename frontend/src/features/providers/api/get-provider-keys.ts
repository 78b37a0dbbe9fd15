import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';

export const providerKeySchema = z.object({
  id: z.number(),
  provider: z.string(),
  label: z.string(),
  base_url: z.string().nullable().optional(),
  masked_key: z.string().nullable().optional(),
  created_at: z.string().nullable().optional(),
  last_used_at: z.string().nullable().optional(),
});
export type ProviderKey = z.infer<typeof providerKeySchema>;

export const getProviderKeys = (): Promise<ProviderKey[]> =>
  api.get('/api/provider-keys/', z.array(providerKeySchema));

export const getProviderKeysQueryOptions = () =>
  queryOptions({ queryKey: ['provider-keys'], queryFn: getProviderKeys });

export const useProviderKeys = () => useQuery(getProviderKeysQueryOptions());
