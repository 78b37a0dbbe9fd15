import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';
import { moneySchema } from '@/types/api';

export const modelUsageSchema = z.object({
  model: z.string(),
  requests: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cost_usd: moneySchema,
});
export type ModelUsage = z.infer<typeof modelUsageSchema>;

export const myUsageSchema = z.object({
  period: z.object({ kind: z.string(), start: z.string(), end: z.string() }),
  spent_usd: moneySchema,
  reserved_usd: moneySchema,
  limit_usd: moneySchema.nullable(),
  remaining_usd: moneySchema.nullable(),
  by_model: z.array(modelUsageSchema),
  // Not in the contract yet: a daily series of the period, drawn when the server sends one.
  by_day: z.array(z.object({ day: z.string(), cost_usd: moneySchema })).optional(),
});
export type MyUsage = z.infer<typeof myUsageSchema>;

export const getMyUsage = (): Promise<MyUsage> => api.get('/api/usage/me/', myUsageSchema);

// Spend moves with every reply, so the page asks again whenever it is opened.
export const getMyUsageQueryOptions = () =>
  queryOptions({ queryKey: ['usage', 'me'], queryFn: getMyUsage, staleTime: 0 });

export const useMyUsage = () => useQuery(getMyUsageQueryOptions());
