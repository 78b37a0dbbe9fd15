import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';

import { Page } from '@/components/ui/page';

export function NotFoundRoute() {
  const { t } = useTranslation();
  return (
    <Page title={t('notFound.title')}>
      <Link to="/">{t('notFound.back')}</Link>
    </Page>
  );
}
