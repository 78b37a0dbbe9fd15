import type { FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { SelectField, TextField } from '@/components/ui/field';
import { Card } from '@/components/ui/page';
import { Spinner } from '@/components/ui/spinner';
import { useBudget } from '@/features/billing/api/get-budget';
import type { Budget } from '@/features/billing/api/get-budget';
import { useUpdateBudget } from '@/features/billing/api/update-budget';
import { useBudgetDraft } from '@/features/billing/components/use-budget-draft';
import { ENFORCEMENTS, PERIODS } from '@/features/billing/utils/budget-form';
import { errorMessage, fieldErrors } from '@/lib/errors';

type Scope = 'default' | 'org';

function EditorForm({ scope, budget }: { scope: Scope; budget: Budget }) {
  const { t } = useTranslation();
  const draft = useBudgetDraft(budget);
  const update = useUpdateBudget({ scope });
  const server = fieldErrors(update.error);
  const local = (key: string | undefined) => (key ? [t(`billing.budgets.${key}`)] : undefined);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const body = draft.submit();
    if (body) update.mutate(body, { onSuccess: draft.reset });
  };

  return (
    <form className="stack" onSubmit={onSubmit} noValidate>
      <div className="form-grid">
        <TextField
          label={t('billing.budgets.limit')}
          hint={t('billing.budgets.limitHint')}
          inputMode="decimal"
          placeholder={t('billing.myUsage.unlimited')}
          value={draft.values.limit}
          errors={local(draft.errors.limit) ?? server.limit_usd}
          onChange={(e) => draft.set('limit', e.target.value)}
        />
        <SelectField
          label={t('billing.budgets.period')}
          value={draft.values.period}
          errors={server.period}
          options={PERIODS.map((value) => ({ value, label: t(`billing.periods.${value}`) }))}
          onChange={(e) => draft.set('period', e.target.value as Budget['period'])}
        />
        <SelectField
          label={t('billing.budgets.enforcement')}
          value={draft.values.enforcement}
          errors={server.enforcement}
          options={ENFORCEMENTS.map((value) => ({ value, label: t(`billing.enforcements.${value}`) }))}
          onChange={(e) => draft.set('enforcement', e.target.value as Budget['enforcement'])}
        />
        <TextField
          label={t('billing.budgets.warnAt')}
          hint={t('billing.budgets.warnAtHint')}
          value={draft.values.warnAt}
          errors={local(draft.errors.warnAt) ?? server.warn_at_percent}
          onChange={(e) => draft.set('warnAt', e.target.value)}
        />
      </div>
      {update.isError && Object.keys(server).length === 0 ? <Alert>{errorMessage(update.error)}</Alert> : null}
      <div className="form-actions">
        <Button
          type="submit"
          loading={update.isPending}
          aria-label={scope === 'default' ? t('billing.budgets.saveDefault') : t('billing.budgets.saveOrg')}
        >
          {t('billing.budgets.save')}
        </Button>
        {update.isSuccess && !draft.dirty ? (
          <span className="budget-saved" role="status">
            {t('billing.budgets.saved')}
          </span>
        ) : null}
      </div>
    </form>
  );
}

/** The default budget or the org cap, as a card with its own form. */
export function BudgetEditor({ scope }: { scope: Scope }) {
  const { t } = useTranslation();
  const budget = useBudget({ scope });
  return (
    <Card title={scope === 'default' ? t('billing.budgets.defaultTitle') : t('billing.budgets.orgTitle')}>
      <div className="stack">
        <p className="muted small" style={{ margin: 0 }}>
          {scope === 'default' ? t('billing.budgets.defaultHint') : t('billing.budgets.orgHint')}
        </p>
        {budget.isPending ? <Spinner label={t('app.loading')} /> : null}
        {budget.isError ? <Alert>{errorMessage(budget.error)}</Alert> : null}
        {budget.data ? <EditorForm scope={scope} budget={budget.data} /> : null}
      </div>
    </Card>
  );
}
