import { queryOptions, useQueries, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';
import { moneySchema } from '@/types/api';

export const budgetSchema = z.object({
  limit_usd: moneySchema.nullable(),
  period: z.enum(['daily', 'weekly', 'monthly', 'total']),
  enforcement: z.enum(['hard', 'soft']),
  warn_at_percent: z.array(z.number()),
  // Extensions: a member's row shows the org default while they have no budget of their own.
  inherited: z.boolean().optional(),
  updated_at: z.string().nullable().optional(),
});
export type Budget = z.infer<typeof budgetSchema>;

/** Which budget: a member's own, the default for members without one, or the org cap. */
export type BudgetTarget = { scope: 'user'; userId: number } | { scope: 'default' } | { scope: 'org' };

export const budgetUrl = (target: BudgetTarget): string =>
  target.scope === 'user' ? `/api/budgets/users/${target.userId}/` : `/api/budgets/${target.scope}/`;

export const budgetQueryKey = (target: BudgetTarget) =>
  target.scope === 'user' ? ['budgets', 'user', target.userId] : ['budgets', target.scope];

export const getBudget = (target: BudgetTarget): Promise<Budget> => api.get(budgetUrl(target), budgetSchema);

export const getBudgetQueryOptions = (target: BudgetTarget) =>
  queryOptions({ queryKey: budgetQueryKey(target), queryFn: () => getBudget(target) });

export const useBudget = (target: BudgetTarget) => useQuery(getBudgetQueryOptions(target));

/** Every member's budget at once (one request each; organisations here are team-sized). */
export const useMemberBudgets = (userIds: number[]) =>
  useQueries({ queries: userIds.map((userId) => getBudgetQueryOptions({ scope: 'user', userId })) });
