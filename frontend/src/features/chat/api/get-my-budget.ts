import { queryOptions, useQuery } from '@tanstack/react-query';
import type { QueryClient } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';
import { moneySchema } from '@/types/api';
import { fromNanos, toNanos } from '@/utils/decimal';

/**
 * GET /api/usage/me/ for the budget meter beside the model picker. features/billing has its own
 * fetcher of the same endpoint for the My usage page; features may not import each other, so this
 * one small fetcher is duplicated on purpose (only the fields the meter reads are kept).
 */
export const myBudgetSchema = z.object({
  period: z.object({ kind: z.string(), start: z.string(), end: z.string() }),
  spent_usd: moneySchema,
  reserved_usd: moneySchema,
  limit_usd: moneySchema.nullable(),
  remaining_usd: moneySchema.nullable(),
});
export type MyBudget = z.infer<typeof myBudgetSchema>;

export const getMyBudget = (): Promise<MyBudget> => api.get('/api/usage/me/', myBudgetSchema);

/** Under ['usage', 'me', …] so anything that invalidates the user's usage refreshes it too. */
export const MY_BUDGET_KEY = ['usage', 'me', 'chat-meter'] as const;

export const getMyBudgetQueryOptions = () =>
  queryOptions({ queryKey: MY_BUDGET_KEY, queryFn: getMyBudget, staleTime: 30_000 });

export const useMyBudget = () => useQuery(getMyBudgetQueryOptions());

export type BudgetUpdate = {
  spent_usd: string;
  limit_usd: string | null;
  remaining_usd: string | null;
  period_end: string;
};

/** The frame has no `reserved_usd`; with a limit it is what `remaining = limit - spent - reserved` implies. */
function reservedFrom(update: BudgetUpdate, previous: string): string {
  if (update.limit_usd === null || update.remaining_usd === null) return previous;
  const limit = toNanos(update.limit_usd);
  const spent = toNanos(update.spent_usd);
  const remaining = toNanos(update.remaining_usd);
  if (limit === undefined || spent === undefined || remaining === undefined) return previous;
  const reserved = limit - spent - remaining;
  return fromNanos(reserved > 0n ? reserved : 0n);
}

/**
 * Apply a `budget.updated` frame to the meter's cached answer. Without a cached answer there is
 * nothing to patch: the pending fetch brings the whole state.
 */
export function applyBudgetUpdate(queryClient: QueryClient, update: BudgetUpdate): void {
  queryClient.setQueryData<MyBudget>(MY_BUDGET_KEY, (old) =>
    old
      ? {
          ...old,
          spent_usd: update.spent_usd,
          reserved_usd: reservedFrom(update, old.reserved_usd),
          limit_usd: update.limit_usd,
          remaining_usd: update.remaining_usd,
          period: { ...old.period, end: update.period_end },
        }
      : old,
  );
  // The My usage page's cache (features/billing, key ['usage', 'me']) is now stale too.
  void queryClient.invalidateQueries({ queryKey: ['usage', 'me'], exact: true });
}
