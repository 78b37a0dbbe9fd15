import { useMutation, useQueryClient } from '@tanstack/react-query';

import { budgetQueryKey, budgetSchema, budgetUrl } from '@/features/billing/api/get-budget';
import type { Budget, BudgetTarget } from '@/features/billing/api/get-budget';
import { api } from '@/lib/api-client';

export type BudgetInput = {
  limit_usd: string | null;
  period: Budget['period'];
  enforcement: Budget['enforcement'];
  warn_at_percent: number[];
};

export const updateBudget = ({ target, budget }: { target: BudgetTarget; budget: BudgetInput }) =>
  api.put(budgetUrl(target), budget, budgetSchema);

export function useUpdateBudget(target: BudgetTarget) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (budget: BudgetInput) => updateBudget({ target, budget }),
    onSuccess: (saved) => queryClient.setQueryData(budgetQueryKey(target), saved),
    onSettled: async () => {
      // A new default changes every inheriting member's row; any change moves usage/me.
      if (target.scope === 'default') await queryClient.invalidateQueries({ queryKey: ['budgets', 'user'] });
      await queryClient.invalidateQueries({ queryKey: ['usage', 'me'] });
    },
  });
}
