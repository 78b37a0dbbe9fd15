import { useTranslation } from 'react-i18next';

import type { BudgetRefusal } from '@/features/chat/utils/budget-refusal';
import { isZeroUsd, neverResets } from '@/features/chat/utils/budget-refusal';
import { formatDateTimeLong } from '@/utils/format';
import { formatUsd } from '@/utils/money';

const usd = (value: string): string => formatUsd(value, { minDecimals: 2, maxDecimals: 6 });

/**
 * A `budget_exceeded` refusal explained from its detail, in the reader's language: which budget
 * refused, why, the amounts, when it resets and what to do now. Built from the detail's fields,
 * never from the server's English message; fields an older server does not send are left out.
 */
export function BudgetRefusalText({ refusal, code }: { refusal: BudgetRefusal; code: string }) {
  const { t, i18n } = useTranslation();
  const { scope } = refusal;
  const budget = t(`chat.refusal.budget.${scope}`);
  const resetDate = refusal.period_end ? formatDateTimeLong(refusal.period_end, i18n.language) : '';
  const never = neverResets(refusal);

  let reason: string | undefined;
  if (refusal.reason === 'too_large') {
    reason =
      refusal.needed_usd && refusal.remaining_usd
        ? t('chat.refusal.reason.tooLarge', {
            budget,
            needed: usd(refusal.needed_usd),
            left: usd(refusal.remaining_usd),
          })
        : t('chat.refusal.reason.tooLargeShort', { budget });
  } else if (refusal.reason === 'exhausted') {
    reason = t('chat.refusal.reason.exhausted', { budget });
  }

  const amounts: [string, string][] = [];
  if (refusal.limit_usd) {
    const limit = usd(refusal.limit_usd);
    amounts.push([
      t('chat.refusal.limit'),
      refusal.period ? t(`chat.refusal.limitPer.${refusal.period}`, { limit }) : limit,
    ]);
  }
  if (refusal.spent_usd) amounts.push([t('chat.refusal.spent'), usd(refusal.spent_usd)]);
  if (refusal.reserved_usd && !isZeroUsd(refusal.reserved_usd)) {
    amounts.push([t('chat.refusal.reserved'), usd(refusal.reserved_usd)]);
  }
  if (refusal.remaining_usd) amounts.push([t('chat.refusal.left'), usd(refusal.remaining_usd)]);
  if (refusal.needed_usd) amounts.push([t('chat.refusal.needed'), usd(refusal.needed_usd)]);

  // A request too large for what is left fits again in a shorter conversation; a budget used up
  // only comes back with its reset (or a higher limit).
  const ways: string[] = [];
  if (refusal.reason === 'too_large') {
    ways.push(t('chat.refusal.way.newConversation'), t('chat.refusal.way.shorterAnswer'));
  } else if (resetDate && !never) {
    ways.push(t('chat.refusal.way.waitReset', { date: resetDate }));
  }
  ways.push(t(`chat.refusal.way.askAdmin.${scope}`));

  return (
    <div className="message-error budget-refusal" role="alert">
      <strong>{t(`chat.refusal.headline.${scope}`)}</strong>
      {reason ? <p>{reason}</p> : null}
      {amounts.length > 0 ? (
        <dl className="budget-refusal-amounts" aria-label={t('chat.refusal.amounts')}>
          {amounts.map(([term, value]) => (
            <div key={term}>
              <dt>{term}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      ) : null}
      {never ? <p>{t('chat.refusal.neverResets')}</p> : null}
      {!never && resetDate ? <p>{t('chat.refusal.resetsOn', { date: resetDate })}</p> : null}
      <p className="budget-refusal-ways-title">{t('chat.refusal.waysForward')}</p>
      <ul aria-label={t('chat.refusal.waysForward')}>
        {ways.map((way) => (
          <li key={way}>{way}</li>
        ))}
      </ul>
      <span className="muted small">({code})</span>
    </div>
  );
}
