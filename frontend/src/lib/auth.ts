import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';
import { ApiError } from '@/lib/errors';
import { meSchema } from '@/types/api';
import type { Me, User } from '@/types/api';

const setupStatusSchema = z.object({ needed: z.boolean() });

export const getSetupStatusQueryOptions = () =>
  queryOptions({
    queryKey: ['setup'],
    queryFn: () => api.get('/api/setup/', setupStatusSchema),
    staleTime: Infinity,
  });

export const useSetupStatus = () => useQuery(getSetupStatusQueryOptions());

/** The signed-in user, or null when the session is anonymous (401 is an answer, not an error). */
export async function getMe(): Promise<Me | null> {
  try {
    return await api.get('/api/auth/me/', meSchema);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return null;
    throw error;
  }
}

export const getMeQueryOptions = () =>
  queryOptions({ queryKey: ['auth', 'me'], queryFn: getMe, staleTime: 5 * 60_000 });

export const useMe = () => useQuery(getMeQueryOptions());

export type SetupInput = {
  org_name: string;
  name: string;
  email: string;
  password: string;
  time_zone?: string;
};

export type LoginInput = { email: string; password: string };

/** After any change of identity, refetch everything: another user's cache must not leak. */
function useIdentityChanged(): () => Promise<void> {
  const queryClient = useQueryClient();
  return async () => {
    queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== 'auth' });
    await queryClient.invalidateQueries({ queryKey: getMeQueryOptions().queryKey });
    await queryClient.invalidateQueries({ queryKey: getSetupStatusQueryOptions().queryKey });
  };
}

export function useSetup() {
  const changed = useIdentityChanged();
  return useMutation({
    mutationFn: (input: SetupInput): Promise<User> => api.post<User>('/api/setup/', input),
    onSuccess: changed,
  });
}

export function useLogin() {
  const changed = useIdentityChanged();
  return useMutation({
    mutationFn: (input: LoginInput): Promise<User> =>
      api.post<User>('/api/auth/login/', input),
    onSuccess: changed,
  });
}

export function useLogout() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (): Promise<void> => api.post<void>('/api/auth/logout/'),
    onSuccess: () => {
      queryClient.clear();
      queryClient.setQueryData(getMeQueryOptions().queryKey, null);
    },
  });
}

export { useIdentityChanged };
