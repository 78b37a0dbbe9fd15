import '@/features/billing/components/billing.css';

import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { TextField } from '@/components/ui/field';
import { Card, Page } from '@/components/ui/page';
import { Spinner } from '@/components/ui/spinner';
import { RECORDS_PAGE_SIZE, useUsageRecords } from '@/features/billing/api/get-usage-records';
import { useUsageSummary } from '@/features/billing/api/get-usage-summary';
import type { DateRange, SummaryRow } from '@/features/billing/api/get-usage-summary';
import { BarChart } from '@/features/billing/components/bar-chart';
import { UsageTotalsTable } from '@/features/billing/components/usage-totals-table';
import { daysBetween, exportCsvUrl, monthToDate, rangeProblem } from '@/features/billing/utils/date-range';
import { errorMessage } from '@/lib/errors';
import { sumMoney } from '@/utils/decimal';
import { formatDateTime } from '@/utils/format';
import { formatUsd } from '@/utils/money';

function Summaries({ range }: { range: DateRange }) {
  const { t } = useTranslation();
  const byUser = useUsageSummary({ groupBy: 'user', range });
  const byModel = useUsageSummary({ groupBy: 'model', range });
  const byDay = useUsageSummary({ groupBy: 'day', range });
  const failed = [byUser, byModel, byDay].find((query) => query.isError);
  if (failed) return <Alert>{errorMessage(failed.error)}</Alert>;
  if (!byUser.data || !byModel.data || !byDay.data) return <Spinner label={t('app.loading')} />;

  const memberName = (row: SummaryRow) => row.user_email ?? t('billing.usage.deletedUser');
  const modelName = (row: SummaryRow) => row.model ?? '—';
  // A day without spend still gets its (empty) column, so the chart's time axis is honest.
  const spentByDay = new Map(byDay.data.map((row) => [row.day ?? '', row.cost_usd]));
  const days = range.from && range.to ? daysBetween(range.from, range.to) : [...spentByDay.keys()];
  const requests = byUser.data.reduce((total, row) => total + row.requests, 0);
  return (
    <>
      <Card>
        <dl className="stat-row">
          <div>
            <dt>{t('billing.usage.total')}</dt>
            <dd>{formatUsd(sumMoney(byUser.data.map((row) => row.cost_usd)))}</dd>
          </div>
          <div>
            <dt>{t('billing.usage.requests')}</dt>
            <dd>{requests.toLocaleString()}</dd>
          </div>
        </dl>
      </Card>
      <Card title={t('billing.usage.byDay')}>
        <BarChart
          title={t('billing.usage.byDay')}
          hideTitle
          columns
          bars={days.map((day) => ({ key: day, label: day, value: spentByDay.get(day) ?? '0' }))}
        />
      </Card>
      <div className="usage-grid">
        <Card title={t('billing.usage.byMember')}>
          <div className="stack">
            <BarChart
              title={t('billing.usage.byMember')}
              hideTitle
              bars={byUser.data.map((row) => ({ key: String(row.user), label: memberName(row), value: row.cost_usd }))}
            />
            <UsageTotalsTable label={t('billing.usage.member')} heading={t('billing.usage.member')} rows={byUser.data} name={memberName} />
          </div>
        </Card>
        <Card title={t('billing.usage.byModel')}>
          <div className="stack">
            <BarChart
              title={t('billing.usage.byModel')}
              hideTitle
              bars={byModel.data.map((row) => ({ key: modelName(row), label: modelName(row), value: row.cost_usd }))}
            />
            <UsageTotalsTable label={t('billing.usage.model')} heading={t('billing.usage.model')} rows={byModel.data} name={modelName} />
          </div>
        </Card>
      </div>
    </>
  );
}

function Ledger({ range }: { range: DateRange }) {
  const { t, i18n } = useTranslation();
  const [page, setPage] = useState(1);
  const [forRange, setForRange] = useState(range);
  // A new range starts again at page 1 (state adjusted during render, as React recommends).
  if (forRange.from !== range.from || forRange.to !== range.to) {
    setForRange(range);
    setPage(1);
  }
  const records = useUsageRecords({ range, page });
  if (records.isPending) return <Spinner label={t('app.loading')} />;
  if (records.isError) return <Alert>{errorMessage(records.error)}</Alert>;
  const { count, results } = records.data;
  if (count === 0) return <p className="muted">{t('billing.usage.noRecords')}</p>;
  const pages = Math.max(1, Math.ceil(count / RECORDS_PAGE_SIZE));
  const sourceLabel = (source: string) =>
    ['chat', 'api', 'system'].includes(source) ? t(`billing.usage.sources.${source}`) : source;
  return (
    <div className="stack">
      <div className="table-wrap">
        <table aria-label={t('billing.usage.ledgerTitle')}>
          <thead>
            <tr>
              <th scope="col">{t('billing.usage.time')}</th>
              <th scope="col">{t('billing.usage.member')}</th>
              <th scope="col">{t('billing.usage.model')}</th>
              <th scope="col" className="hide-narrow">
                {t('billing.usage.source')}
              </th>
              <th scope="col" className="num hide-narrow">
                {t('billing.usage.tokens')}
              </th>
              <th scope="col" className="num">
                {t('billing.usage.cost')}
              </th>
            </tr>
          </thead>
          <tbody>
            {results.map((record) => (
              <tr key={record.id}>
                <td>{formatDateTime(record.created_at, i18n.language)}</td>
                <td>{record.user_email ?? t('billing.usage.deletedUser')}</td>
                <td className="mono">{record.model}</td>
                <td className="hide-narrow">{sourceLabel(record.source)}</td>
                <td className="num hide-narrow">
                  {record.input_tokens.toLocaleString()} / {record.output_tokens.toLocaleString()}
                </td>
                <td className="num">
                  {formatUsd(record.cost_usd)}
                  {record.estimated ? <div className="muted small">{t('billing.usage.estimated')}</div> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="pager">
        <span className="muted small">{t('billing.usage.pageOf', { page, pages, count })}</span>
        <div className="actions">
          <Button
            variant="secondary"
            size="sm"
            disabled={page <= 1 || records.isPlaceholderData}
            onClick={() => setPage((value) => Math.max(1, value - 1))}
          >
            {t('billing.usage.previous')}
          </Button>
          <Button
            variant="secondary"
            size="sm"
            disabled={page >= pages || records.isPlaceholderData}
            onClick={() => setPage((value) => value + 1)}
          >
            {t('billing.usage.next')}
          </Button>
        </div>
      </div>
    </div>
  );
}

/** The org dashboard; the range lives in the URL (?from=&to=) so a view can be shared. */
export function UsageDashboardPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const [fallback] = useState(() => monthToDate(new Date()));
  const range: DateRange = {
    from: params.get('from') ?? fallback.from,
    to: params.get('to') ?? fallback.to,
  };
  const problem = rangeProblem(range.from, range.to);
  const setBound = (key: 'from' | 'to', value: string) =>
    setParams(
      (old) => {
        const next = new URLSearchParams(old);
        next.set('from', range.from);
        next.set('to', range.to);
        next.set(key, value);
        return next;
      },
      { replace: true },
    );
  const fromError = problem === 'badFrom' ? [t('billing.usage.badFrom')] : undefined;
  const toError =
    problem === 'badTo' || problem === 'toBeforeFrom' ? [t(`billing.usage.${problem}`)] : undefined;
  return (
    <Page
      title={t('billing.usage.title')}
      description={t('billing.usage.description')}
      actions={
        problem ? null : (
          <a className="btn btn-secondary csv-link" href={exportCsvUrl(range)} download>
            {t('billing.usage.downloadCsv')}
          </a>
        )
      }
    >
      <Card>
        <div className="range-form">
          <TextField
            label={t('billing.usage.from')}
            type="date"
            value={range.from}
            max={range.to || undefined}
            errors={fromError}
            onChange={(e) => setBound('from', e.target.value)}
          />
          <TextField
            label={t('billing.usage.to')}
            type="date"
            value={range.to}
            min={range.from || undefined}
            errors={toError}
            onChange={(e) => setBound('to', e.target.value)}
          />
        </div>
      </Card>
      {problem ? null : (
        <>
          <Summaries range={range} />
          <Card title={t('billing.usage.ledgerTitle')}>
            <Ledger range={range} />
          </Card>
        </>
      )}
    </Page>
  );
}
