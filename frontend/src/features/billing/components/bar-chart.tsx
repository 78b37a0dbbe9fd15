import { useId } from 'react';
import { useTranslation } from 'react-i18next';

import { basisPointsToCss, maxMoney, shareBasisPoints } from '@/features/billing/utils/decimal';
import { formatUsd } from '@/utils/money';

export type Bar = { key: string; label: string; value: string };

/**
 * Plain CSS bars scaled to the largest value with exact decimal math. Every bar carries its
 * amount as text, so the chart reads the same to a screen reader as it looks.
 */
export function BarChart({
  title,
  bars,
  columns = false,
  hideTitle = false,
}: {
  title: string;
  bars: Bar[];
  columns?: boolean;
  /** When a card's heading already says what the chart is: the caption stays for screen readers. */
  hideTitle?: boolean;
}) {
  const { t } = useTranslation();
  const captionId = useId();
  const top = maxMoney(bars.map((bar) => bar.value));
  if (bars.length === 0 || bars.every((bar) => shareBasisPoints(bar.value, top) === 0)) {
    return (
      <figure className="bar-chart" aria-labelledby={captionId}>
        <figcaption id={captionId} className={hideTitle ? 'visually-hidden' : undefined}>
          {title}
        </figcaption>
        <p className="muted small">{t('billing.chartEmpty')}</p>
      </figure>
    );
  }
  if (columns) {
    const first = bars[0];
    const last = bars[bars.length - 1];
    return (
      <figure className="bar-chart" aria-labelledby={captionId}>
        <figcaption id={captionId} className={hideTitle ? 'visually-hidden' : undefined}>
          {title}
        </figcaption>
        <ul className="bar-columns">
          {bars.map((bar) => (
            <li key={bar.key} title={`${bar.label}: ${formatUsd(bar.value)}`}>
              <span className="visually-hidden">{`${bar.label}: ${formatUsd(bar.value)}`}</span>
              <span
                className="bar-column"
                aria-hidden="true"
                style={{ height: basisPointsToCss(shareBasisPoints(bar.value, top)) }}
              />
            </li>
          ))}
        </ul>
        <div className="bar-column-axis" aria-hidden="true">
          <span>{first?.label}</span>
          <span>{last?.label}</span>
        </div>
      </figure>
    );
  }
  return (
    <figure className="bar-chart" aria-labelledby={captionId}>
      <figcaption id={captionId} className={hideTitle ? 'visually-hidden' : undefined}>
          {title}
        </figcaption>
      <ul className="bar-list">
        {bars.map((bar) => (
          <li key={bar.key}>
            <span className="bar-label" title={bar.label}>
              {bar.label}
            </span>
            <span className="bar-track" aria-hidden="true">
              <span className="bar-fill" style={{ width: basisPointsToCss(shareBasisPoints(bar.value, top)) }} />
            </span>
            <span className="bar-value">{formatUsd(bar.value)}</span>
          </li>
        ))}
      </ul>
    </figure>
  );
}
