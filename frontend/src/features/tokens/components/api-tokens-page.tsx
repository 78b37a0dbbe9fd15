import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { ConfirmButton } from '@/components/ui/confirm-button';
import { Card, Page } from '@/components/ui/page';
import { Spinner } from '@/components/ui/spinner';
import { useTokens } from '@/features/tokens/api/get-tokens';
import type { ApiToken } from '@/features/tokens/api/get-tokens';
import { useRevokeToken } from '@/features/tokens/api/revoke-token';
import { CreateTokenForm } from '@/features/tokens/components/create-token-form';
import { useMe } from '@/lib/auth';
import { errorMessage } from '@/lib/errors';
import { formatUsd } from '@/utils/money';

function when(value: string | null, fallback: string): string {
  return value ? new Date(value).toLocaleString() : fallback;
}

function TokenRow({ token, showOwner }: { token: ApiToken; showOwner: boolean }) {
  const { t } = useTranslation();
  const revoke = useRevokeToken();
  return (
    <tr>
      <td>{token.name}</td>
      {showOwner ? <td>{token.user.email}</td> : null}
      <td>
        <code>{`${token.prefix}…${token.last4}`}</code>
      </td>
      <td>{when(token.last_used_at, t('common.never'))}</td>
      <td>{when(token.expires_at, t('common.never'))}</td>
      <td>{token.max_budget_usd ? formatUsd(token.max_budget_usd) : t('common.none')}</td>
      <td>{token.models.length > 0 ? token.models.join(', ') : t('tokens.allModels')}</td>
      <td>
        <ConfirmButton
          label={t('tokens.revoke')}
          question={t('tokens.revokeQuestion', { name: token.name })}
          confirmLabel={t('tokens.revokeConfirm')}
          cancelLabel={t('common.cancel')}
          loading={revoke.isPending}
          onConfirm={() => revoke.mutate(token.id)}
        />
      </td>
    </tr>
  );
}

export function ApiTokensPage() {
  const { t } = useTranslation();
  const tokens = useTokens();
  const me = useMe();
  const myId = me.data?.id;
  // Admins get every token of the organisation; show whose each one is when some are not ours.
  const showOwner = (tokens.data ?? []).some((token) => token.user.id !== myId);
  let list;
  if (tokens.isPending) list = <Spinner label={t('app.loading')} />;
  else if (tokens.isError) list = <Alert>{errorMessage(tokens.error)}</Alert>;
  else if (tokens.data.length === 0) list = <p className="muted">{t('tokens.empty')}</p>;
  else
    list = (
      <table className="table" aria-label={t('tokens.title')}>
        <thead>
          <tr>
            <th>{t('tokens.name')}</th>
            {showOwner ? <th>{t('tokens.owner')}</th> : null}
            <th>{t('tokens.token')}</th>
            <th>{t('tokens.lastUsed')}</th>
            <th>{t('tokens.expires')}</th>
            <th>{t('tokens.maxBudget')}</th>
            <th>{t('tokens.models')}</th>
            <th>
              <span className="visually-hidden">{t('tokens.revoke')}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tokens.data.map((token) => (
            <TokenRow key={token.id} token={token} showOwner={showOwner} />
          ))}
        </tbody>
      </table>
    );

  return (
    <Page title={t('tokens.title')} description={t('tokens.description')}>
      <Card title={t('tokens.createTitle')}>
        <CreateTokenForm />
      </Card>
      <Card>{list}</Card>
    </Page>
  );
}
