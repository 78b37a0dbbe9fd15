import { useTranslation } from 'react-i18next';
import { Navigate } from 'react-router';

import { PublicShell } from '@/app/public-shell';
import { Alert } from '@/components/ui/alert';
import { Spinner } from '@/components/ui/spinner';
import { SetupForm } from '@/features/accounts/components/setup-form';
import { useMe, useSetupStatus } from '@/lib/auth';
import { errorMessage } from '@/lib/errors';

/** "/" shows first-run setup while no user exists, otherwise sends you to chat or to login. */
export function RootRoute() {
  const { t } = useTranslation();
  const setup = useSetupStatus();
  const me = useMe();
  if (setup.isPending) return <Spinner label={t('app.loading')} />;
  if (setup.isError) return <Alert>{errorMessage(setup.error)}</Alert>;
  if (setup.data.needed) {
    return (
      <PublicShell>
        <SetupForm />
      </PublicShell>
    );
  }
  if (me.isPending) return <Spinner label={t('app.loading')} />;
  if (me.isError) return <Alert>{errorMessage(me.error)}</Alert>;
  return <Navigate to={me.data ? '/chat' : '/login'} replace />;
}
