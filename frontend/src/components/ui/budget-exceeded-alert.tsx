import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { formatDateTime } from '@/utils/format';

/**
 * "Your budget is used up": the one wording for a `budget_exceeded` refusal, wherever it shows
 * (usage pages, chat). `periodEnd` is when the budget resets; null for a budget that never does.
 */
export function BudgetExceededAlert({ periodEnd }: { periodEnd: string | null }) {
  const { t, i18n } = useTranslation();
  return (
    <Alert title={t('billing.exceededTitle')}>
      {periodEnd
        ? t('billing.exceededBody', { date: formatDateTime(periodEnd, i18n.language) })
        : t('billing.exceededBodyTotal')}
    </Alert>
  );
}
