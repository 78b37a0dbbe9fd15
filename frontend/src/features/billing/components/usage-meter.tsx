import { useTranslation } from 'react-i18next';

import type { MyUsage } from '@/features/billing/api/get-my-usage';
import {
  basisPointsToCss,
  basisPointsToPercent,
  shareBasisPoints,
} from '@/utils/decimal';
import { formatDateTime } from '@/utils/format';
import { formatUsd } from '@/utils/money';

/** Spent against the limit, with what in-flight replies hold drawn lighter after it. */
export function UsageMeter({ usage }: { usage: MyUsage }) {
  const { t, i18n } = useTranslation();
  const { spent_usd: spent, limit_usd: limit, reserved_usd: reserved } = usage;
  const spentBp = limit === null ? 0 : shareBasisPoints(spent, limit);
  const reservedBp =
    limit === null ? 0 : Math.min(shareBasisPoints(reserved, limit), 10_000 - spentBp);
  const high = limit !== null && spentBp >= 8_000;
  const neverResets = usage.period.kind === 'total';
  return (
    <div className="usage-meter">
      <div className="usage-meter-headline">
        <span className="usage-meter-amount">
          {limit === null
            ? t('billing.myUsage.spentNoLimit', { spent: formatUsd(spent) })
            : t('billing.myUsage.spentOf', { spent: formatUsd(spent), limit: formatUsd(limit) })}
        </span>
        <span className="muted">
          {neverResets
            ? t('billing.myUsage.noReset')
            : t('billing.myUsage.resets', { date: formatDateTime(usage.period.end, i18n.language) })}
        </span>
      </div>
      {limit !== null ? (
        <>
          <div
            className={`meter-track${high ? ' is-high' : ''}`}
            role="meter"
            aria-label={t('billing.myUsage.meter')}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={basisPointsToPercent(spentBp)}
            aria-valuetext={t('billing.myUsage.percentUsed', { percent: basisPointsToPercent(spentBp) })}
          >
            <span className="meter-fill" style={{ width: basisPointsToCss(spentBp) }} />
            {reservedBp > 0 ? (
              <span
                className="meter-reserved"
                style={{ left: basisPointsToCss(spentBp), width: basisPointsToCss(reservedBp) }}
              />
            ) : null}
          </div>
          <span className="muted small">
            {t('billing.myUsage.percentUsed', { percent: basisPointsToPercent(spentBp) })}
          </span>
        </>
      ) : null}
    </div>
  );
}
