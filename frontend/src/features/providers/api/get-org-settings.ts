import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';

/** GET /api/org/: the organization's settings (the Models page edits title_model). */
export const orgSettingsSchema = z.object({
  name: z.string(),
  time_zone: z.string(),
  title_model: z.string().nullable(),
  default_max_tokens: z.number().int().positive(),
  max_message_chars: z.number().int().positive().optional(),
});
export type OrgSettings = z.infer<typeof orgSettingsSchema>;

export const getOrgSettings = (): Promise<OrgSettings> => api.get('/api/org/', orgSettingsSchema);

export const getOrgSettingsQueryOptions = () =>
  queryOptions({ queryKey: ['org', 'settings'], queryFn: getOrgSettings });

export const useOrgSettings = () => useQuery(getOrgSettingsQueryOptions());
