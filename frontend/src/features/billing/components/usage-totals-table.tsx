import { useTranslation } from 'react-i18next';

import { formatUsd } from '@/utils/money';

/** The token and cost totals every usage table shows, whatever a row groups by. */
export interface UsageTotals {
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string;
}

interface UsageTotalsTableProps<Row extends UsageTotals> {
  /** The table's accessible name. */
  label: string;
  /** The header of the first column, the one naming each row. */
  heading: string;
  rows: Row[];
  name: (row: Row) => string;
  nameClassName?: string;
}

export function UsageTotalsTable<Row extends UsageTotals>({
  label,
  heading,
  rows,
  name,
  nameClassName,
}: UsageTotalsTableProps<Row>) {
  const { t } = useTranslation();
  return (
    <div className="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr>
            <th scope="col">{heading}</th>
            <th scope="col" className="num">
              {t('billing.usage.requests')}
            </th>
            <th scope="col" className="num hide-narrow">
              {t('billing.usage.inputTokens')}
            </th>
            <th scope="col" className="num hide-narrow">
              {t('billing.usage.outputTokens')}
            </th>
            <th scope="col" className="num">
              {t('billing.usage.cost')}
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={name(row)}>
              <td className={nameClassName}>{name(row)}</td>
              <td className="num">{row.requests.toLocaleString()}</td>
              <td className="num hide-narrow">{row.input_tokens.toLocaleString()}</td>
              <td className="num hide-narrow">{row.output_tokens.toLocaleString()}</td>
              <td className="num">{formatUsd(row.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
