import { useTranslation } from 'react-i18next';

import type { MyBudget } from '@/features/chat/api/get-my-budget';
import { useMyBudget } from '@/features/chat/api/get-my-budget';
import { absMoney, isNegativeMoney, toNanos } from '@/utils/decimal';
import { formatUsd } from '@/utils/money';

const PERIODS = new Set(['daily', 'weekly', 'monthly', 'total']);
const CENT = 10_000_000n; // nUSD

/** Cents, unless less than a cent is left: then enough places to show it. */
function shortUsd(value: string): string {
  const nusd = toNanos(value);
  const small = nusd !== undefined && nusd !== 0n && nusd < CENT && nusd > -CENT;
  return formatUsd(value, { maxDecimals: small ? 6 : 2 });
}

/** Share of the limit still left, in whole percent (0-100), from the decimal strings. */
function percentLeft(remaining: string, limit: string): number {
  const left = toNanos(remaining);
  const whole = toNanos(limit);
  if (left === undefined || whole === undefined || whole <= 0n || left <= 0n) return 0;
  if (left >= whole) return 100;
  return Number((left * 100n) / whole);
}

export function BudgetMeterView({ budget }: { budget: MyBudget }) {
  const { t } = useTranslation();
  const kind = PERIODS.has(budget.period.kind) ? budget.period.kind : 'monthly';
  const { limit_usd: limit, remaining_usd: remaining } = budget;
  if (limit === null || remaining === null) {
    return (
      <span className="budget-meter muted small" data-testid="budget-meter">
        {t('chat.budget.noLimit', { spent: formatUsd(budget.spent_usd) })}
      </span>
    );
  }
  const over = isNegativeMoney(remaining);
  const percent = percentLeft(remaining, limit);
  const low = over || percent < 10;
  const text = over
    ? t('chat.budget.over', {
        over: shortUsd(absMoney(remaining)),
        limit: shortUsd(limit),
      })
    : t(`chat.budget.left.${kind}`, {
        remaining: shortUsd(remaining),
        limit: shortUsd(limit),
      });
  return (
    <span
      className={`budget-meter small${low ? ' budget-meter-low' : ''}`}
      data-testid="budget-meter"
      title={t('chat.budget.spentTitle', { spent: formatUsd(budget.spent_usd) })}
    >
      <span
        className="budget-meter-track"
        role="meter"
        aria-label={t('chat.budget.label')}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={text}
      >
        <span className="budget-meter-fill" style={{ width: `${percent}%` }} />
      </span>
      <span className="budget-meter-text">{text}</span>
    </span>
  );
}

/** The remaining budget beside the model picker; nothing while loading or when it cannot load. */
export function BudgetMeter() {
  const budget = useMyBudget();
  if (!budget.data) return null;
  return <BudgetMeterView budget={budget.data} />;
}
