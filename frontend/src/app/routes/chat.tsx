import { useTranslation } from 'react-i18next';

import { Page } from '@/components/ui/page';

// Placeholder: the chat engineer replaces this with the UI from features/chat.
export function ChatRoute() {
  const { t } = useTranslation();
  return (
    <Page title={t('nav.chat')}>
      <p className="muted">{t('placeholder.chatIntro')}</p>
    </Page>
  );
}
