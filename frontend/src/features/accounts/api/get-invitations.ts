import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';
import { roleSchema } from '@/types/api';

export const invitationSchema = z.object({
  id: z.number(),
  email: z.string(),
  role: roleSchema,
  status: z.string(),
  created_at: z.string().nullable().optional(),
  expires_at: z.string().nullable().optional(),
});
export type Invitation = z.infer<typeof invitationSchema>;

export const getInvitations = (): Promise<Invitation[]> =>
  api.get('/api/invitations/', z.array(invitationSchema));

export const getInvitationsQueryOptions = () =>
  queryOptions({ queryKey: ['invitations'], queryFn: getInvitations });

export const useInvitations = () => useQuery(getInvitationsQueryOptions());
