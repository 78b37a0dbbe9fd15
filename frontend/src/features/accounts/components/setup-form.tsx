import { useState } from 'react';
import type { FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { SelectField, TextField } from '@/components/ui/field';
import { useSetup } from '@/lib/auth';
import { errorMessage, fieldErrors } from '@/lib/errors';
import { browserTimeZone, timeZones } from '@/utils/format';

export function SetupForm() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const setup = useSetup();
  const [zones] = useState(timeZones);
  const [form, setForm] = useState({
    org_name: '',
    name: '',
    email: '',
    password: '',
    time_zone: browserTimeZone(),
  });
  const errors = fieldErrors(setup.error);
  const update = (key: keyof typeof form) => (value: string) =>
    setForm((current) => ({ ...current, [key]: value }));

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setup.mutate(form, { onSuccess: () => void navigate('/chat', { replace: true }) });
  };

  return (
    <form onSubmit={onSubmit} noValidate={false} className="stack">
      <h1>{t('setup.title')}</h1>
      <p className="muted">{t('setup.intro')}</p>
      {setup.isError && Object.keys(errors).length === 0 ? (
        <Alert>{errorMessage(setup.error)}</Alert>
      ) : null}
      <TextField
        label={t('setup.orgName')}
        required
        maxLength={200}
        value={form.org_name}
        errors={errors.org_name}
        onChange={(e) => update('org_name')(e.target.value)}
      />
      <TextField
        label={t('setup.name')}
        required
        autoComplete="name"
        value={form.name}
        errors={errors.name}
        onChange={(e) => update('name')(e.target.value)}
      />
      <TextField
        label={t('setup.email')}
        type="email"
        required
        autoComplete="email"
        value={form.email}
        errors={errors.email}
        onChange={(e) => update('email')(e.target.value)}
      />
      <TextField
        label={t('setup.password')}
        type="password"
        required
        autoComplete="new-password"
        value={form.password}
        errors={errors.password}
        onChange={(e) => update('password')(e.target.value)}
      />
      <SelectField
        label={t('setup.timeZone')}
        value={form.time_zone}
        errors={errors.time_zone}
        options={zones.map((zone) => ({ value: zone, label: zone }))}
        onChange={(e) => update('time_zone')(e.target.value)}
      />
      <Button type="submit" loading={setup.isPending}>
        {t('setup.submit')}
      </Button>
    </form>
  );
}
