import { useTranslation } from 'react-i18next';

import { Page } from '@/components/ui/page';

export function MembersPage() {
  const { t } = useTranslation();
  return <Page title={t('members.title')} />;
}
