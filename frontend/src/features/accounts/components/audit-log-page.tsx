import { useTranslation } from 'react-i18next';

import { Page } from '@/components/ui/page';

export function AuditLogPage() {
  const { t } = useTranslation();
  return <Page title={t('audit.title')} />;
}
