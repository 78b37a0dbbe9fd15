import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';

export const apiTokenSchema = z.object({
  id: z.number(),
  name: z.string(),
  prefix: z.string(),
  last4: z.string(),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
  max_budget_usd: z.string().nullable(),
  models: z.array(z.string()),
  user: z.object({ id: z.number(), email: z.string(), name: z.string() }),
});
export type ApiToken = z.infer<typeof apiTokenSchema>;

export const getTokens = (): Promise<ApiToken[]> =>
  api.get('/api/tokens/', z.array(apiTokenSchema));

export const getTokensQueryOptions = () =>
  queryOptions({ queryKey: ['api-tokens'], queryFn: getTokens });

export const useTokens = () => useQuery(getTokensQueryOptions());
