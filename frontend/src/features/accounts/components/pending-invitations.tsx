import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { ConfirmButton } from '@/components/ui/confirm-button';
import { Spinner } from '@/components/ui/spinner';
import { useInvitations } from '@/features/accounts/api/get-invitations';
import { useRevokeInvitation } from '@/features/accounts/api/revoke-invitation';
import { errorMessage } from '@/lib/errors';
import { formatDateTime } from '@/utils/format';

export function PendingInvitations() {
  const { t, i18n } = useTranslation();
  const invitations = useInvitations();
  const revoke = useRevokeInvitation();

  if (invitations.isPending) return <Spinner label={t('app.loading')} />;
  if (invitations.isError) return <Alert>{errorMessage(invitations.error)}</Alert>;
  const pending = invitations.data.filter((invitation) => invitation.status === 'pending');
  if (pending.length === 0) return <p className="muted">{t('members.pendingEmpty')}</p>;

  return (
    <div className="stack">
      {revoke.isError ? <Alert>{errorMessage(revoke.error)}</Alert> : null}
      <div className="table-wrap">
        <table aria-label={t('members.pendingTitle')}>
          <thead>
            <tr>
              <th scope="col">{t('members.email')}</th>
              <th scope="col">{t('members.role')}</th>
              <th scope="col">{t('members.expires')}</th>
              <th scope="col">
                <span className="visually-hidden">{t('members.actions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {pending.map((invitation) => (
              <tr key={invitation.id}>
                <td>{invitation.email}</td>
                <td>{t(`roles.${invitation.role}`)}</td>
                <td>{formatDateTime(invitation.expires_at, i18n.language)}</td>
                <td>
                  <ConfirmButton
                    label={t('members.revoke')}
                    question={t('members.revokeQuestion', { email: invitation.email })}
                    confirmLabel={t('members.confirmRevoke')}
                    cancelLabel={t('common.cancel')}
                    loading={revoke.isPending}
                    onConfirm={() => revoke.mutate(invitation.id)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
