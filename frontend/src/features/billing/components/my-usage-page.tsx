import '@/features/billing/components/billing.css';

import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { BudgetExceededAlert } from '@/components/ui/budget-exceeded-alert';
import { Card, Page } from '@/components/ui/page';
import { Spinner } from '@/components/ui/spinner';
import { useMyUsage } from '@/features/billing/api/get-my-usage';
import type { MyUsage } from '@/features/billing/api/get-my-usage';
import { BarChart } from '@/features/billing/components/bar-chart';
import { UsageMeter } from '@/features/billing/components/usage-meter';
import { UsageTotalsTable } from '@/features/billing/components/usage-totals-table';
import { errorMessage } from '@/lib/errors';
import { absMoney, compareMoney, isNegativeMoney } from '@/utils/decimal';
import { formatUsd } from '@/utils/money';

const PERIOD_KINDS = ['daily', 'weekly', 'monthly', 'total'] as const;

function Facts({ usage }: { usage: MyUsage }) {
  const { t } = useTranslation();
  const over = isNegativeMoney(usage.remaining_usd);
  return (
    <dl className="stat-row">
      <div>
        <dt>{t('billing.myUsage.spent')}</dt>
        <dd>{formatUsd(usage.spent_usd)}</dd>
      </div>
      <div>
        <dt>{t('billing.myUsage.reserved')}</dt>
        <dd>{formatUsd(usage.reserved_usd)}</dd>
      </div>
      <div>
        <dt>{t('billing.myUsage.limit')}</dt>
        <dd>{usage.limit_usd === null ? t('billing.myUsage.unlimited') : formatUsd(usage.limit_usd)}</dd>
      </div>
      <div>
        <dt>{t('billing.myUsage.remaining')}</dt>
        <dd className={over ? 'money-negative' : undefined}>
          {usage.remaining_usd === null ? t('billing.myUsage.unlimited') : formatUsd(usage.remaining_usd)}
          {over ? (
            <span className="small">
              {' '}
              ({t('billing.myUsage.overBy', { amount: formatUsd(absMoney(usage.remaining_usd ?? '0')) })})
            </span>
          ) : null}
        </dd>
      </div>
    </dl>
  );
}

function ByModelTable({ usage }: { usage: MyUsage }) {
  const { t } = useTranslation();
  if (usage.by_model.length === 0) return <p className="muted">{t('billing.myUsage.noUsage')}</p>;
  return (
    <UsageTotalsTable
      label={t('billing.myUsage.byModel')}
      heading={t('billing.myUsage.model')}
      rows={usage.by_model}
      name={(row) => row.model}
      nameClassName="mono"
    />
  );
}

export function MyUsagePage() {
  const { t } = useTranslation();
  const usage = useMyUsage();
  if (usage.isPending) return <Spinner label={t('app.loading')} />;
  if (usage.isError) {
    return (
      <Page title={t('billing.myUsage.title')}>
        <Alert>{errorMessage(usage.error)}</Alert>
      </Page>
    );
  }
  const data = usage.data;
  const kind = PERIOD_KINDS.find((value) => value === data.period.kind) ?? 'monthly';
  const limited = data.limit_usd !== null && data.remaining_usd !== null;
  // Zero left under a limit: the next request is refused (a hard budget never goes below zero).
  const usedUp = limited && compareMoney(data.remaining_usd, '0') === 0;
  const softOver = limited && isNegativeMoney(data.remaining_usd);
  const chart = data.by_day
    ? {
        title: t('billing.myUsage.daily'),
        columns: true,
        bars: data.by_day.map((row) => ({ key: row.day, label: row.day, value: row.cost_usd })),
      }
    : {
        title: t('billing.myUsage.costByModel'),
        columns: false,
        bars: data.by_model.map((row) => ({ key: row.model, label: row.model, value: row.cost_usd })),
      };
  return (
    <Page title={t('billing.myUsage.title')} description={t('billing.myUsage.description')}>
      {usedUp ? <BudgetExceededAlert periodEnd={kind === 'total' ? null : data.period.end} /> : null}
      {softOver ? (
        <Alert tone="info">
          {t('billing.softOverBody', { amount: formatUsd(absMoney(data.remaining_usd ?? '0')) })}
        </Alert>
      ) : null}
      <Card title={t(`billing.periodNow.${kind}`)}>
        <div className="stack">
          <UsageMeter usage={data} />
          <Facts usage={data} />
        </div>
      </Card>
      <Card title={t('billing.myUsage.byModel')}>
        <div className="stack">
          <BarChart title={chart.title} bars={chart.bars} columns={chart.columns} />
          <ByModelTable usage={data} />
        </div>
      </Card>
    </Page>
  );
}
