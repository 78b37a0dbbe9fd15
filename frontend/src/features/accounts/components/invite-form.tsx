import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { CopyButton } from '@/components/ui/copy-button';
import { SelectField, TextField } from '@/components/ui/field';
import { invitationLink, useCreateInvitation } from '@/features/accounts/api/create-invitation';
import { errorMessage, fieldErrors } from '@/lib/errors';
import type { Role } from '@/types/api';

export function InviteForm() {
  const { t } = useTranslation();
  const create = useCreateInvitation();
  const linkId = useId();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const errors = fieldErrors(create.error);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ email: email.trim(), role }, { onSuccess: () => setEmail('') });
  };

  const link = create.data ? invitationLink(create.data, window.location.origin) : undefined;

  return (
    <div className="stack">
      <form onSubmit={onSubmit} className="form-grid">
        <TextField
          label={t('members.inviteEmail')}
          type="email"
          required
          value={email}
          errors={errors.email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <SelectField
          label={t('members.inviteRole')}
          value={role}
          errors={errors.role}
          onChange={(e) => setRole(e.target.value as Role)}
          options={[
            { value: 'member', label: t('roles.member') },
            { value: 'admin', label: t('roles.admin') },
          ]}
        />
        <div className="form-actions field-offset">
          <Button type="submit" loading={create.isPending}>
            {t('members.invite')}
          </Button>
        </div>
      </form>
      {create.isError && Object.keys(errors).length === 0 ? (
        <Alert>{errorMessage(create.error)}</Alert>
      ) : null}
      {create.data && link ? (
        <Alert tone="success" title={t('members.inviteCreated', { email: create.data.email })}>
          <p className="small">{t('members.inviteOnce')}</p>
          <div className="link-box">
            <label htmlFor={linkId} className="visually-hidden">
              {t('members.inviteLink')}
            </label>
            <input
              id={linkId}
              className="input mono"
              readOnly
              value={link}
              onFocus={(e) => e.target.select()}
            />
            <CopyButton text={link} label={t('members.copyLink')} copiedLabel={t('common.copied')} />
          </div>
        </Alert>
      ) : null}
    </div>
  );
}
