import { useParams } from 'react-router';

import { PublicShell } from '@/app/public-shell';
import { AcceptInvitation } from '@/features/accounts/components/accept-invitation';

export function InviteRoute() {
  const { token = '' } = useParams();
  return (
    <PublicShell>
      <AcceptInvitation token={token} />
    </PublicShell>
  );
}
