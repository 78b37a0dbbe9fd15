import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';
import { moneySchema } from '@/types/api';

export const modelSchema = z.object({
  id: z.string(),
  provider: z.union([z.string(), z.number()]).nullable().optional(),
  provider_key: z.number().nullable().optional(),
  name: z.string(),
  input_usd_per_mtok: moneySchema.nullable().optional(),
  output_usd_per_mtok: moneySchema.nullable().optional(),
  cached_input_usd_per_mtok: moneySchema.nullable().optional(),
  enabled: z.boolean(),
});
export type Model = z.infer<typeof modelSchema>;

/** Admins pass all=1 to see disabled models too. */
export const getModels = ({ all }: { all: boolean }): Promise<Model[]> =>
  api.get(all ? '/api/models/?all=1' : '/api/models/', z.array(modelSchema));

export const getModelsQueryOptions = ({ all = false }: { all?: boolean } = {}) =>
  queryOptions({ queryKey: ['models', { all }], queryFn: () => getModels({ all }) });

export const useModels = (params: { all?: boolean } = {}) =>
  useQuery(getModelsQueryOptions(params));

export const modelUrl = (id: string): string => `/api/models/${encodeURIComponent(id)}/`;
