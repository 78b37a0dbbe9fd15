import { useTranslation } from 'react-i18next';

import { Page } from '@/components/ui/page';

export function ProviderKeysPage() {
  const { t } = useTranslation();
  return <Page title={t('providerKeys.title')} />;
}
