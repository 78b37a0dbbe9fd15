import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Spinner } from '@/components/ui/spinner';
import { useMembers } from '@/features/accounts/api/get-members';
import type { Member } from '@/features/accounts/api/get-members';
import { useUpdateMember } from '@/features/accounts/api/update-member';
import { errorMessage } from '@/lib/errors';
import type { Role } from '@/types/api';
import { formatDateTime } from '@/utils/format';
import { formatUsd } from '@/utils/money';

const ROLES: Role[] = ['owner', 'admin', 'member'];

export function MembersTable({ currentUserId }: { currentUserId: number | undefined }) {
  const { t, i18n } = useTranslation();
  const members = useMembers();
  const update = useUpdateMember();

  if (members.isPending) return <Spinner label={t('app.loading')} />;
  if (members.isError) return <Alert>{errorMessage(members.error)}</Alert>;
  if (members.data.length === 0) return <p className="muted">{t('members.empty')}</p>;

  const row = (member: Member) => {
    const self = member.id === currentUserId;
    return (
      <tr key={member.id}>
        <td>
          {member.name || '—'}
          {self ? <span className="muted small"> ({t('members.you')})</span> : null}
        </td>
        <td>{member.email}</td>
        <td>
          <select
            className="input input-compact"
            aria-label={t('members.roleFor', { email: member.email })}
            value={member.role}
            disabled={update.isPending}
            onChange={(e) => update.mutate({ id: member.id, role: e.target.value as Role })}
          >
            {ROLES.map((role) => (
              <option key={role} value={role}>
                {t(`roles.${role}`)}
              </option>
            ))}
          </select>
        </td>
        <td>
          <span className={`badge ${member.is_active ? 'badge-success' : 'badge-muted'}`}>
            {member.is_active ? t('members.active') : t('members.inactive')}
          </span>
        </td>
        <td className="num">{formatUsd(member.spent_usd ?? null)}</td>
        <td className="hide-narrow">{formatDateTime(member.date_joined, i18n.language)}</td>
        <td>
          {self ? null : (
            <Button
              variant={member.is_active ? 'danger' : 'secondary'}
              size="sm"
              disabled={update.isPending}
              aria-label={`${member.is_active ? t('members.deactivate') : t('members.reactivate')} ${member.email}`}
              onClick={() => update.mutate({ id: member.id, is_active: !member.is_active })}
            >
              {member.is_active ? t('members.deactivate') : t('members.reactivate')}
            </Button>
          )}
        </td>
      </tr>
    );
  };

  return (
    <div className="stack">
      {update.isError ? <Alert>{errorMessage(update.error)}</Alert> : null}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('members.name')}</th>
              <th scope="col">{t('members.email')}</th>
              <th scope="col">{t('members.role')}</th>
              <th scope="col">{t('members.status')}</th>
              <th scope="col" className="num">
                {t('members.spent')}
              </th>
              <th scope="col" className="hide-narrow">
                {t('members.joined')}
              </th>
              <th scope="col">
                <span className="visually-hidden">{t('members.actions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>{members.data.map(row)}</tbody>
        </table>
      </div>
    </div>
  );
}
