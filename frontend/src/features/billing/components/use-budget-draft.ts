import { useState } from 'react';

import type { Budget } from '@/features/billing/api/get-budget';
import type { BudgetInput } from '@/features/billing/api/update-budget';
import { formatWarnAt, limitText, parseLimit, parseWarnAt } from '@/features/billing/utils/budget-form';

type Draft = { limit: string; period: Budget['period']; enforcement: Budget['enforcement']; warnAt: string };

const fromBudget = (budget: Budget): Draft => ({
  limit: limitText(budget.limit_usd),
  period: budget.period,
  enforcement: budget.enforcement,
  warnAt: formatWarnAt(budget.warn_at_percent),
});

/**
 * An editor's state over a server budget: untouched fields follow the server (so a new default
 * shows up in inheriting rows), edited ones keep what the admin typed until it is saved.
 */
export function useBudgetDraft(budget: Budget) {
  const [edits, setEdits] = useState<Partial<Draft>>({});
  const [submitted, setSubmitted] = useState(false);
  const values: Draft = { ...fromBudget(budget), ...edits };
  const limit = parseLimit(values.limit);
  const warnAt = parseWarnAt(values.warnAt);
  const errors = {
    limit: submitted && !limit.ok ? 'badLimit' : undefined,
    warnAt: submitted && warnAt === undefined ? 'badWarnAt' : undefined,
  } as const;
  return {
    values,
    errors,
    dirty: Object.keys(edits).length > 0,
    set: <K extends keyof Draft>(key: K, value: Draft[K]) => setEdits((old) => ({ ...old, [key]: value })),
    /** The PUT body, or undefined (and the field errors shown) when something does not parse. */
    submit: (): BudgetInput | undefined => {
      setSubmitted(true);
      if (!limit.ok || warnAt === undefined) return undefined;
      return {
        limit_usd: limit.value,
        period: values.period,
        enforcement: values.enforcement,
        warn_at_percent: warnAt,
      };
    },
    reset: () => {
      setEdits({});
      setSubmitted(false);
    },
  };
}
