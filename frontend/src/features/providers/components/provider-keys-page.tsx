import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { Card, Page } from '@/components/ui/page';
import { Spinner } from '@/components/ui/spinner';
import { useProviderKeys } from '@/features/providers/api/get-provider-keys';
import { AddProviderKeyForm } from '@/features/providers/components/add-provider-key-form';
import { ProviderKeyCard } from '@/features/providers/components/provider-key-card';
import { errorMessage } from '@/lib/errors';

export function ProviderKeysPage() {
  const { t } = useTranslation();
  const keys = useProviderKeys();
  let list;
  if (keys.isPending) list = <Spinner label={t('app.loading')} />;
  else if (keys.isError) list = <Alert>{errorMessage(keys.error)}</Alert>;
  else if (keys.data.length === 0) list = <p className="muted">{t('providerKeys.empty')}</p>;
  else list = keys.data.map((key) => <ProviderKeyCard key={key.id} providerKey={key} />);

  return (
    <Page title={t('providerKeys.title')} description={t('providerKeys.description')}>
      <div className="stack">{list}</div>
      <Card title={t('providerKeys.addTitle')}>
        <AddProviderKeyForm />
      </Card>
    </Page>
  );
}
