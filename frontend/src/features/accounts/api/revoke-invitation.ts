import { useMutation, useQueryClient } from '@tanstack/react-query';

import { getInvitationsQueryOptions } from '@/features/accounts/api/get-invitations';
import { api } from '@/lib/api-client';

export const revokeInvitation = (id: number): Promise<void> =>
  api.delete(`/api/invitations/${id}/`);

export function useRevokeInvitation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: revokeInvitation,
    onSettled: () =>
      queryClient.invalidateQueries({ queryKey: getInvitationsQueryOptions().queryKey }),
  });
}
