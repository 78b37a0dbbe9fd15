import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';

const usableModelSchema = z.object({ id: z.string(), provider: z.string() });
export type UsableModel = z.infer<typeof usableModelSchema>;

/** The models the signed-in member may use: the choices for a token's allow-list. */
export const getUsableModels = (): Promise<UsableModel[]> =>
  api.get('/api/models/', z.array(usableModelSchema));

export const getUsableModelsQueryOptions = () =>
  queryOptions({ queryKey: ['models', 'usable'], queryFn: getUsableModels });

export const useUsableModels = () => useQuery(getUsableModelsQueryOptions());
