import { useTranslation } from 'react-i18next';

import { Card, Page } from '@/components/ui/page';
import { AddModelForm } from '@/features/providers/components/add-model-form';
import { ModelsTable } from '@/features/providers/components/models-table';
import { TitleModelSetting } from '@/features/providers/components/title-model-setting';

export function ModelsPage() {
  const { t } = useTranslation();
  return (
    <Page title={t('models.title')} description={t('models.description')}>
      <Card>
        <ModelsTable />
      </Card>
      <Card title={t('models.addTitle')}>
        <AddModelForm />
      </Card>
      <Card title={t('models.titlesTitle')}>
        <TitleModelSetting />
      </Card>
    </Page>
  );
}
