import { useMutation, useQueryClient } from '@tanstack/react-query';

import { getOrgSettingsQueryOptions, orgSettingsSchema } from '@/features/providers/api/get-org-settings';
import type { OrgSettings } from '@/features/providers/api/get-org-settings';
import { api } from '@/lib/api-client';

export type UpdateOrgSettingsInput = { title_model: string | null };

export const updateOrgSettings = (changes: UpdateOrgSettingsInput): Promise<OrgSettings> =>
  api.patch('/api/org/', changes, orgSettingsSchema);

export function useUpdateOrgSettings() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: updateOrgSettings,
    // The answer is the new state: the select shows it at once, without a refetch's flicker.
    onSuccess: (settings) =>
      queryClient.setQueryData(getOrgSettingsQueryOptions().queryKey, settings),
    // Every reader of /api/org/ (the chat's limits too) shares the 'org' prefix.
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['org'] }),
  });
}
