import { useTranslation } from 'react-i18next';
import { Navigate, useSearchParams } from 'react-router';

import { PublicShell } from '@/app/public-shell';
import { Spinner } from '@/components/ui/spinner';
import { LoginForm } from '@/features/accounts/components/login-form';
import { useMe } from '@/lib/auth';

/** Only same-site paths are honoured in ?next=, so the login page is no open redirect. */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/chat';
}

export function LoginRoute() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const me = useMe();
  const next = safeNext(params.get('next'));
  if (me.isPending) return <Spinner label={t('app.loading')} />;
  if (me.data) return <Navigate to={next} replace />;
  return (
    <PublicShell>
      <LoginForm />
    </PublicShell>
  );
}
