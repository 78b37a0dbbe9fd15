import { useTranslation } from 'react-i18next';

import { Card, Page } from '@/components/ui/page';
import { InviteForm } from '@/features/accounts/components/invite-form';
import { MembersTable } from '@/features/accounts/components/members-table';
import { PendingInvitations } from '@/features/accounts/components/pending-invitations';
import { useMe } from '@/lib/auth';

export function MembersPage() {
  const { t } = useTranslation();
  const me = useMe();
  return (
    <Page title={t('members.title')} description={t('members.description', { org: me.data?.org.name ?? '' })}>
      <Card title={t('members.inviteTitle')}>
        <InviteForm />
      </Card>
      <Card>
        <MembersTable currentUserId={me.data?.id} />
      </Card>
      <Card title={t('members.pendingTitle')}>
        <PendingInvitations />
      </Card>
    </Page>
  );
}
