import { useTranslation } from 'react-i18next';

import { BudgetRefusalText } from '@/features/chat/components/budget-refusal';
import { useChatStore } from '@/features/chat/stores/chat-store';
import { parseBudgetRefusal } from '@/features/chat/utils/budget-refusal';
import { formatUsd } from '@/utils/money';

const KNOWN_CODES = new Set([
  'budget_exceeded',
  'rate_limited',
  'provider_auth',
  'provider_rate_limited',
  'provider_unavailable',
  'service_unavailable',
  'context_length_exceeded',
  'provider_error',
  'price_unknown',
  'validation_error',
  'not_found',
  'permission_denied',
]);

/**
 * A failure in words: the translated headline for its code, then the server's own details. A
 * budget refusal with a detail is explained from that detail instead (BudgetRefusalText).
 */
export function ErrorText({
  code,
  message,
  detail,
}: {
  code: string;
  message: string;
  detail?: unknown;
}) {
  const { t } = useTranslation();
  const refusal = code === 'budget_exceeded' ? parseBudgetRefusal(detail) : undefined;
  if (refusal) return <BudgetRefusalText refusal={refusal} code={code} />;
  const title = t(KNOWN_CODES.has(code) ? `chat.errors.${code}` : 'chat.errors.generic');
  return (
    <div className="message-error" role="alert">
      <strong>{title}</strong>
      {message && message !== title ? <span> {message}</span> : null}
      <span className="muted small"> ({code})</span>
    </div>
  );
}

/** The banner of a `budget.warning` frame: shown once per threshold and period, dismissible. */
export function BudgetWarningBanner() {
  const { t } = useTranslation();
  const warning = useChatStore((state) => state.budgetWarning);
  const dismiss = useChatStore((state) => state.dismissBudgetWarning);
  if (!warning) return null;
  return (
    <div className="chat-notice chat-notice-info">
      <p role="status">
        {t('chat.budgetWarning', {
          percent: String(warning.percent),
          spent: formatUsd(warning.spent_usd),
          limit: formatUsd(warning.limit_usd),
        })}
      </p>
      <button
        type="button"
        className="icon-button icon-button-sm"
        aria-label={t('chat.dismiss')}
        onClick={dismiss}
      >
        <span aria-hidden="true">×</span>
      </button>
    </div>
  );
}

export function ChatNotice() {
  const { t } = useTranslation();
  const notice = useChatStore((state) => state.notice);
  const setNotice = useChatStore((state) => state.setNotice);
  if (!notice) return null;
  return (
    <div className="chat-notice">
      <ErrorText code={notice.code} message={notice.message} detail={notice.detail} />
      <button
        type="button"
        className="icon-button icon-button-sm"
        aria-label={t('chat.dismiss')}
        onClick={() => setNotice(undefined)}
      >
        <span aria-hidden="true">×</span>
      </button>
    </div>
  );
}
