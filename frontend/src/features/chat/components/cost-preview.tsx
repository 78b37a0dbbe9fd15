import { useTranslation } from 'react-i18next';

import type { NextMessageCost } from '@/features/chat/hooks/use-next-message-cost';
import { fromNanosCeil } from '@/utils/decimal';
import { formatUsd } from '@/utils/money';

/** Rounded UP to 6 places before display, so "Up to" is never below what the server reserves. */
const upTo = (nusd: bigint): string => formatUsd(fromNanosCeil(nusd, 6), { maxDecimals: 6 });

/** "Up to $0.0123 for this message", next to the Send button. */
export function CostHint({ cost }: { cost: NextMessageCost | undefined }) {
  const { t } = useTranslation();
  if (!cost) return null;
  return (
    <span
      className={`composer-cost small${cost.outcome.kind === 'fits' ? ' muted' : ' composer-cost-low'}`}
      title={t('chat.nextCost.explain', { maxTokens: cost.maxTokens })}
      data-testid="cost-preview"
    >
      {t('chat.nextCost.upTo', { cost: upTo(cost.worstNusd) })}
    </span>
  );
}

/** Before sending: what remains is below the worst case, and what the server will do about it. */
export function CostWarning({ cost }: { cost: NextMessageCost | undefined }) {
  const { t } = useTranslation();
  if (!cost || cost.outcome.kind === 'fits' || cost.remainingUsd === null) return null;
  const remaining = formatUsd(cost.remainingUsd, { maxDecimals: 6 });
  const worst = upTo(cost.worstNusd);
  const over = cost.remainingUsd.trim().startsWith('-');
  return (
    <div className="chat-notice chat-notice-warning" data-testid="cost-warning">
      <p role="status">
        {over
          ? t('chat.nextCost.overBudget', {
              over: formatUsd(cost.remainingUsd.trim().slice(1), { maxDecimals: 6 }),
              worst,
            })
          : cost.outcome.kind === 'refused'
          ? t('chat.nextCost.willRefuse', { remaining, worst })
          : t('chat.nextCost.willShorten', {
              remaining,
              worst,
              tokens: cost.outcome.maxTokens.toString(),
            })}
      </p>
    </div>
  );
}
