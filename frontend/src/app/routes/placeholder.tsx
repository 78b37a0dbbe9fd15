import { useTranslation } from 'react-i18next';

import { Page } from '@/components/ui/page';

/** A page another issue will fill; it keeps the navigation honest until then. */
export function PlaceholderRoute({ titleKey }: { titleKey: string }) {
  const { t } = useTranslation();
  return (
    <Page title={t(titleKey)}>
      <p className="muted">{t('placeholder.soon')}</p>
    </Page>
  );
}
