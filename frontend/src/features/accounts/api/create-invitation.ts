import { useMutation, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';

import { getInvitationsQueryOptions } from '@/features/accounts/api/get-invitations';
import { api } from '@/lib/api-client';
import { roleSchema } from '@/types/api';
import type { Role } from '@/types/api';

const createdInvitationSchema = z.object({
  id: z.number(),
  email: z.string(),
  role: roleSchema,
  token: z.string(),
  url: z.string().optional(),
  expires_at: z.string().nullable().optional(),
});
export type CreatedInvitation = z.infer<typeof createdInvitationSchema>;

export type CreateInvitationInput = { email: string; role: Role };

export const createInvitation = (input: CreateInvitationInput): Promise<CreatedInvitation> =>
  api.post('/api/invitations/', input, createdInvitationSchema);

/** The link is shown exactly once, so prefer the server's url and rebuild it only if absent. */
export function invitationLink(invitation: CreatedInvitation, origin: string): string {
  return invitation.url || `${origin}/invite/${encodeURIComponent(invitation.token)}`;
}

export function useCreateInvitation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createInvitation,
    onSuccess: () =>
      queryClient.invalidateQueries({ queryKey: getInvitationsQueryOptions().queryKey }),
  });
}
