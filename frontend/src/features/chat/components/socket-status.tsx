import { useTranslation } from 'react-i18next';

import type { SocketState } from '@/lib/ws-client';

export function SocketStatus({ state }: { state: SocketState }) {
  const { t } = useTranslation();
  return (
    <span className={`socket-status socket-${state}`} role="status" aria-live="polite">
      <span className="socket-dot" aria-hidden="true" />
      <span>{t(`chat.socket.${state}`)}</span>
    </span>
  );
}
