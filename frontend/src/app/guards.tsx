import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, Outlet, useLocation } from 'react-router';

import { Alert } from '@/components/ui/alert';
import { Page } from '@/components/ui/page';
import { Spinner } from '@/components/ui/spinner';
import { useMe } from '@/lib/auth';
import { errorMessage } from '@/lib/errors';
import { isAdminRole } from '@/types/api';

/** Anonymous visitors go to /login and come back to where they were heading. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const me = useMe();
  const location = useLocation();
  if (me.isPending) return <Spinner label={t('app.loading')} />;
  if (me.isError) return <Alert>{errorMessage(me.error)}</Alert>;
  if (!me.data) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <>{children}</>;
}

/** Members who open an admin page see why they cannot, not a broken page. */
export function RequireAdmin() {
  const { t } = useTranslation();
  const me = useMe();
  if (!isAdminRole(me.data?.role)) {
    return (
      <Page title={t('forbidden.title')}>
        <Alert>{t('forbidden.body')}</Alert>
      </Page>
    );
  }
  return <Outlet />;
}
