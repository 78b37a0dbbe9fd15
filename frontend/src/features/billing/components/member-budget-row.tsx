import type { KeyboardEvent } from 'react';
import { useId } from 'react';
import { useTranslation } from 'react-i18next';

import { Button } from '@/components/ui/button';
import type { Budget } from '@/features/billing/api/get-budget';
import type { BudgetMember } from '@/features/billing/api/get-members';
import { useUpdateBudget } from '@/features/billing/api/update-budget';
import { useBudgetDraft } from '@/features/billing/components/use-budget-draft';
import { ENFORCEMENTS, PERIODS } from '@/features/billing/utils/budget-form';
import { errorMessage, fieldErrors } from '@/lib/errors';
import { formatUsd } from '@/utils/money';

function CellError({ id, messages }: { id: string; messages: string[] | undefined }) {
  if (!messages || messages.length === 0) return null;
  return (
    <p className="budget-cell-error" id={id} role="alert">
      {messages.join(' ')}
    </p>
  );
}

/** One member's budget, edited in place and saved on its own. */
export function MemberBudgetRow({ member, budget }: { member: BudgetMember; budget: Budget }) {
  const { t } = useTranslation();
  const id = useId();
  const draft = useBudgetDraft(budget);
  const update = useUpdateBudget({ scope: 'user', userId: member.id });
  const server = fieldErrors(update.error);
  const limitErrors = draft.errors.limit ? [t(`billing.budgets.${draft.errors.limit}`)] : server.limit_usd;
  const otherError =
    update.isError && Object.keys(server).length === 0 ? [errorMessage(update.error)] : undefined;

  const save = () => {
    const body = draft.submit();
    if (body) update.mutate(body, { onSuccess: draft.reset });
  };
  const onEnter = (event: KeyboardEvent) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      save();
    }
  };
  const invalid = (messages: string[] | undefined) => (messages && messages.length > 0 ? true : undefined);

  return (
    <tr>
      <td>
        <div>{member.name || member.email}</div>
        <div className="muted small">{member.email}</div>
        <span className={`badge ${budget.inherited && !draft.dirty ? 'badge-muted' : 'badge-success'}`}>
          {budget.inherited ? t('billing.budgets.inherited') : t('billing.budgets.own')}
        </span>
      </td>
      <td className="num" data-label={t('billing.budgets.spent')}>
        {formatUsd(member.spent_usd ?? null)}
      </td>
      <td data-label={t('billing.budgets.limit')}>
        <input
          className="input input-compact"
          aria-label={t('billing.budgets.limit')}
          inputMode="decimal"
          placeholder={t('billing.myUsage.unlimited')}
          value={draft.values.limit}
          aria-invalid={invalid(limitErrors)}
          aria-describedby={invalid(limitErrors) ? `${id}-limit` : undefined}
          onChange={(e) => draft.set('limit', e.target.value)}
          onKeyDown={onEnter}
        />
        <CellError id={`${id}-limit`} messages={limitErrors} />
      </td>
      <td data-label={t('billing.budgets.period')}>
        <select
          className="input input-compact"
          aria-label={t('billing.budgets.period')}
          value={draft.values.period}
          aria-invalid={invalid(server.period)}
          onChange={(e) => draft.set('period', e.target.value as Budget['period'])}
        >
          {PERIODS.map((value) => (
            <option key={value} value={value}>
              {t(`billing.periods.${value}`)}
            </option>
          ))}
        </select>
        <CellError id={`${id}-period`} messages={server.period} />
      </td>
      <td data-label={t('billing.budgets.enforcement')}>
        <select
          className="input input-compact"
          aria-label={t('billing.budgets.enforcement')}
          value={draft.values.enforcement}
          aria-invalid={invalid(server.enforcement)}
          onChange={(e) => draft.set('enforcement', e.target.value as Budget['enforcement'])}
        >
          {ENFORCEMENTS.map((value) => (
            <option key={value} value={value}>
              {t(`billing.enforcements.${value}`)}
            </option>
          ))}
        </select>
        <CellError id={`${id}-enforcement`} messages={server.enforcement} />
      </td>
      <td>
        <Button
          size="sm"
          variant={draft.dirty ? 'primary' : 'secondary'}
          loading={update.isPending}
          aria-label={t('billing.budgets.saveFor', { email: member.email })}
          onClick={save}
        >
          {t('billing.budgets.save')}
        </Button>
        {update.isSuccess && !draft.dirty ? (
          <div className="budget-saved" role="status">
            {t('billing.budgets.saved')}
          </div>
        ) : null}
        <CellError id={`${id}-other`} messages={server.warn_at_percent ?? otherError} />
      </td>
    </tr>
  );
}
