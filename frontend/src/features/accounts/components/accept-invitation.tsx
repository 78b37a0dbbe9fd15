import { useState } from 'react';
import type { FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { TextField } from '@/components/ui/field';
import { Spinner } from '@/components/ui/spinner';
import { useAcceptInvitation } from '@/features/accounts/api/accept-invitation';
import { useInvitationLookup } from '@/features/accounts/api/lookup-invitation';
import { ApiError, errorMessage, fieldErrors } from '@/lib/errors';

export function AcceptInvitation({ token }: { token: string }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const lookup = useInvitationLookup(token);
  const accept = useAcceptInvitation();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const errors = fieldErrors(accept.error);

  if (lookup.isPending) return <Spinner label={t('app.loading')} />;
  if (lookup.isError) {
    const gone = lookup.error instanceof ApiError && lookup.error.status === 404;
    return (
      <div className="stack">
        <Alert>{gone ? t('invite.invalid') : errorMessage(lookup.error)}</Alert>
        <Link to="/login">{t('invite.toLogin')}</Link>
      </div>
    );
  }

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    accept.mutate(
      { token, name, password },
      { onSuccess: () => void navigate('/chat', { replace: true }) },
    );
  };

  return (
    <form onSubmit={onSubmit} className="stack">
      <h1>{t('invite.title', { org: lookup.data.org_name })}</h1>
      <p className="muted">
        {t('invite.intro', { role: t(`roles.${lookup.data.role}`), email: lookup.data.email })}
      </p>
      {accept.isError && Object.keys(errors).length === 0 ? (
        <Alert>{errorMessage(accept.error)}</Alert>
      ) : null}
      <TextField
        label={t('invite.name')}
        required
        autoComplete="name"
        value={name}
        errors={errors.name}
        onChange={(e) => setName(e.target.value)}
      />
      <TextField
        label={t('invite.password')}
        type="password"
        required
        autoComplete="new-password"
        value={password}
        errors={errors.password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <Button type="submit" loading={accept.isPending}>
        {t('invite.submit')}
      </Button>
    </form>
  );
}
