import { useMutation, useQueryClient } from '@tanstack/react-query';

import { getMembersQueryOptions } from '@/features/accounts/api/get-members';
import type { Member } from '@/features/accounts/api/get-members';
import { api } from '@/lib/api-client';
import type { Role } from '@/types/api';

export type UpdateMemberInput = { id: number; role?: Role; is_active?: boolean };

export const updateMember = ({ id, ...changes }: UpdateMemberInput): Promise<Member> =>
  api.patch<Member>(`/api/members/${id}/`, changes);

export function useUpdateMember() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: updateMember,
    onSettled: () => queryClient.invalidateQueries({ queryKey: getMembersQueryOptions().queryKey }),
  });
}
