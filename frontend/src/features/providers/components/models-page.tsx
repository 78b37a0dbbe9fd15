import { useTranslation } from 'react-i18next';

import { Page } from '@/components/ui/page';

export function ModelsPage() {
  const { t } = useTranslation();
  return <Page title={t('models.title')} />;
}
