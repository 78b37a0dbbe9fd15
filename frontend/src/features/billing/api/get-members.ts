import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';
import { moneySchema, roleSchema } from '@/types/api';

/** The members list as the budgets page needs it (its own copy: features do not share code). */
export const budgetMemberSchema = z.object({
  id: z.number(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  is_active: z.boolean(),
  spent_usd: moneySchema.nullable().optional(),
});
export type BudgetMember = z.infer<typeof budgetMemberSchema>;

export const getBudgetMembers = (): Promise<BudgetMember[]> =>
  api.get('/api/members/', z.array(budgetMemberSchema));

export const getBudgetMembersQueryOptions = () =>
  queryOptions({ queryKey: ['members', 'billing'], queryFn: getBudgetMembers });

export const useBudgetMembers = () => useQuery(getBudgetMembersQueryOptions());
