import { useState } from 'react';
import type { FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { TextField } from '@/components/ui/field';
import { useLogin } from '@/lib/auth';
import { errorMessage, fieldErrors } from '@/lib/errors';

/** On success the route redirects (it watches the "me" query this mutation refreshes). */
export function LoginForm() {
  const { t } = useTranslation();
  const login = useLogin();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const errors = fieldErrors(login.error);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    login.mutate({ email, password });
  };

  return (
    <form onSubmit={onSubmit} className="stack">
      <h1>{t('login.title')}</h1>
      <p className="muted">{t('login.intro')}</p>
      {login.isError ? <Alert>{errorMessage(login.error)}</Alert> : null}
      <TextField
        label={t('login.email')}
        type="email"
        required
        autoComplete="username"
        value={email}
        errors={errors.email}
        onChange={(e) => setEmail(e.target.value)}
      />
      <TextField
        label={t('login.password')}
        type="password"
        required
        autoComplete="current-password"
        value={password}
        errors={errors.password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <Button type="submit" loading={login.isPending}>
        {t('login.submit')}
      </Button>
    </form>
  );
}
