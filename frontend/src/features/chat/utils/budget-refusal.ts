import { z } from 'zod';

import { isDecimalString } from '@/utils/decimal';

/**
 * The detail of a `budget_exceeded` error (CONTRACT "Budget refusals"). Every field is optional
 * and a field of an unknown shape is dropped, not fatal: an older server sends no `reason`,
 * `remaining_usd` or `needed_usd`, a newer one may add reasons we do not know yet.
 */
const money = z.string().refine((value) => isDecimalString(value, { signed: true }));
const optional = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);

const refusalSchema = z.object({
  scope: z.enum(['user', 'org', 'token']),
  reason: optional(z.enum(['exhausted', 'too_large'])),
  limit_usd: optional(money),
  spent_usd: optional(money),
  reserved_usd: optional(money),
  remaining_usd: optional(money),
  needed_usd: optional(money),
  period: optional(z.enum(['daily', 'weekly', 'monthly', 'total']).nullable()),
  period_end: optional(z.string().nullable()),
});

export type BudgetRefusal = z.infer<typeof refusalSchema>;
export type RefusalScope = BudgetRefusal['scope'];

/** The refusal in `detail`, or undefined when there is none to explain (show the message then). */
export function parseBudgetRefusal(detail: unknown): BudgetRefusal | undefined {
  const parsed = refusalSchema.safeParse(detail);
  return parsed.success ? parsed.data : undefined;
}

/** Whether the budget never resets: a `total` budget, or a token's cap (it has no period). */
export function neverResets(refusal: BudgetRefusal): boolean {
  if (refusal.period === 'total') return true;
  return refusal.scope === 'token' && !refusal.period && !refusal.period_end;
}

export const isZeroUsd = (value: string): boolean => /^-?0*(\.0*)?$/.test(value);
