import { useTranslation } from 'react-i18next';

import type { SocketState } from '@/lib/ws-client';

// The states the socket passes through while it works: all their labels share one grid cell, so
// the status is as wide as the longest and the toolbar does not shift when "Live" becomes
// "Reconnecting…". "closed" is final (log in again) and may take the room it needs.
const TRANSIENT: SocketState[] = ['idle', 'connecting', 'live', 'reconnecting'];

export function SocketStatus({ state }: { state: SocketState }) {
  const { t } = useTranslation();
  // The other labels are drawn from a data attribute by CSS: they hold width but are neither
  // text on the page nor read out. The shown state is pinned to the right of that width.
  const others = TRANSIENT.includes(state) ? TRANSIENT.filter((label) => label !== state) : [];
  return (
    <span className={`socket-status socket-${state}`} role="status" aria-live="polite">
      <span className="socket-current">
        <span className="socket-dot" aria-hidden="true" />
        <span>{t(`chat.socket.${state}`)}</span>
      </span>
      {others.map((label) => (
        <span
          key={label}
          className="socket-label-spacer"
          data-label={t(`chat.socket.${label}`)}
          aria-hidden="true"
        />
      ))}
    </span>
  );
}
