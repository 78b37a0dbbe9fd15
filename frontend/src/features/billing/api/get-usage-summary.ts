import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { rangeQuery } from '@/features/billing/utils/date-range';
import { api } from '@/lib/api-client';
import { moneySchema } from '@/types/api';

export type GroupBy = 'user' | 'model' | 'day';
export type DateRange = { from: string; to: string };

export const summaryRowSchema = z.object({
  user: z.number().nullable().optional(),
  user_email: z.string().nullable().optional(),
  user_name: z.string().nullable().optional(),
  model: z.string().optional(),
  day: z.string().optional(),
  requests: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cost_usd: moneySchema,
});
export type SummaryRow = z.infer<typeof summaryRowSchema>;

export const getUsageSummary = ({ groupBy, range }: { groupBy: GroupBy; range: DateRange }) =>
  api.get(`/api/usage/summary/${rangeQuery(range, { group_by: groupBy })}`, z.array(summaryRowSchema));

export const getUsageSummaryQueryOptions = (params: { groupBy: GroupBy; range: DateRange }) =>
  queryOptions({
    queryKey: ['usage', 'summary', params.groupBy, params.range],
    queryFn: () => getUsageSummary(params),
    placeholderData: keepPreviousData,
  });

export const useUsageSummary = (params: { groupBy: GroupBy; range: DateRange; enabled?: boolean }) =>
  useQuery({ ...getUsageSummaryQueryOptions(params), enabled: params.enabled ?? true });
