import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';

/** GET /api/org/ (any member may read it): the chat needs only the org's default max_tokens. */
export const orgLimitsSchema = z.object({
  default_max_tokens: z.number().int().positive(),
  max_message_chars: z.number().int().positive().optional(),
});
export type OrgLimits = z.infer<typeof orgLimitsSchema>;

export const getOrgLimits = (): Promise<OrgLimits> => api.get('/api/org/', orgLimitsSchema);

export const getOrgLimitsQueryOptions = () =>
  queryOptions({ queryKey: ['org', 'chat-limits'], queryFn: getOrgLimits, staleTime: 5 * 60_000 });

export const useOrgLimits = () => useQuery(getOrgLimitsQueryOptions());
