import { useMutation } from '@tanstack/react-query';

import { api } from '@/lib/api-client';
import { useIdentityChanged } from '@/lib/auth';
import type { User } from '@/types/api';

export type AcceptInvitationInput = { token: string; name: string; password: string };

export const acceptInvitation = (input: AcceptInvitationInput): Promise<User> =>
  api.post<User>('/api/invitations/accept/', input);

export function useAcceptInvitation() {
  const changed = useIdentityChanged();
  return useMutation({ mutationFn: acceptInvitation, onSuccess: changed });
}
