import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';
import { roleSchema } from '@/types/api';

const invitationLookupSchema = z.object({
  email: z.string(),
  role: roleSchema,
  org_name: z.string(),
});
export type InvitationLookup = z.infer<typeof invitationLookupSchema>;

// A POST body, not a query string: the token is a credential and URLs reach access logs.
export const lookupInvitation = (token: string): Promise<InvitationLookup> =>
  api.post('/api/invitations/lookup/', { token }, invitationLookupSchema);

export const getInvitationLookupQueryOptions = (token: string) =>
  queryOptions({
    queryKey: ['invitations', 'lookup', token],
    queryFn: () => lookupInvitation(token),
    retry: false,
  });

export const useInvitationLookup = (token: string) =>
  useQuery(getInvitationLookupQueryOptions(token));
