import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';
import { moneySchema, roleSchema } from '@/types/api';

export const memberSchema = z.object({
  id: z.number(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  is_active: z.boolean(),
  spent_usd: moneySchema.nullable().optional(),
  date_joined: z.string().nullable().optional(),
});
export type Member = z.infer<typeof memberSchema>;

export const getMembers = (): Promise<Member[]> => api.get('/api/members/', z.array(memberSchema));

export const getMembersQueryOptions = () =>
  queryOptions({ queryKey: ['members'], queryFn: getMembers });

export const useMembers = () => useQuery(getMembersQueryOptions());
