import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import type { DateRange } from '@/features/billing/api/get-usage-summary';
import { rangeQuery } from '@/features/billing/utils/date-range';
import { api } from '@/lib/api-client';
import { moneySchema } from '@/types/api';

export const RECORDS_PAGE_SIZE = 50;

export const usageRecordSchema = z.object({
  id: z.number(),
  user: z.number().nullable(),
  user_email: z.string().nullable().optional(),
  model: z.string(),
  provider: z.string().nullable().optional(),
  source: z.string(),
  conversation_id: z.number().nullable().optional(),
  input_tokens: z.number(),
  cached_input_tokens: z.number().optional(),
  output_tokens: z.number(),
  reasoning_tokens: z.number().optional(),
  cost_usd: moneySchema,
  estimated: z.boolean(),
  created_at: z.string(),
});
export type UsageRecord = z.infer<typeof usageRecordSchema>;

export const usageRecordPageSchema = z.object({
  count: z.number(),
  next: z.string().nullable(),
  previous: z.string().nullable(),
  results: z.array(usageRecordSchema),
});
export type UsageRecordPage = z.infer<typeof usageRecordPageSchema>;

export const getUsageRecords = ({ range, page }: { range: DateRange; page: number }) =>
  api.get(
    `/api/usage/records/${rangeQuery(range, { page, page_size: RECORDS_PAGE_SIZE })}`,
    usageRecordPageSchema,
  );

export const getUsageRecordsQueryOptions = (params: { range: DateRange; page: number }) =>
  queryOptions({
    queryKey: ['usage', 'records', params.range, params.page],
    queryFn: () => getUsageRecords(params),
    placeholderData: keepPreviousData,
  });

export const useUsageRecords = (params: { range: DateRange; page: number; enabled?: boolean }) =>
  useQuery({ ...getUsageRecordsQueryOptions(params), enabled: params.enabled ?? true });
