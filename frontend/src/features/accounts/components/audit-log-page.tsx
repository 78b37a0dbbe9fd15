import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { Card, Page } from '@/components/ui/page';
import { Spinner } from '@/components/ui/spinner';
import { useAuditLog } from '@/features/accounts/api/get-audit-log';
import { errorMessage } from '@/lib/errors';
import { formatDateTime } from '@/utils/format';

export function AuditLogPage() {
  const { t, i18n } = useTranslation();
  const audit = useAuditLog();
  let body;
  if (audit.isPending) body = <Spinner label={t('app.loading')} />;
  else if (audit.isError) body = <Alert>{errorMessage(audit.error)}</Alert>;
  else if (audit.data.length === 0) body = <p className="muted">{t('audit.empty')}</p>;
  else {
    body = (
      <div className="table-wrap">
        <table aria-label={t('audit.title')}>
          <thead>
            <tr>
              <th scope="col">{t('audit.when')}</th>
              <th scope="col">{t('audit.actor')}</th>
              <th scope="col">{t('audit.action')}</th>
              <th scope="col">{t('audit.target')}</th>
            </tr>
          </thead>
          <tbody>
            {audit.data.map((event) => (
              <tr key={event.id}>
                <td>{formatDateTime(event.created_at, i18n.language)}</td>
                <td>{event.actor?.email ?? <span className="muted">{t('audit.system')}</span>}</td>
                <td>
                  {/* Known actions in words, with their code under them; unknown ones as codes. */}
                  {i18n.exists(`audit.actions.${event.action}`) ? (
                    <>
                      {t(`audit.actions.${event.action}`)}
                      <span className="mono muted small audit-code">{event.action}</span>
                    </>
                  ) : (
                    <span className="mono">{event.action}</span>
                  )}
                </td>
                <td>
                  {event.target_repr || `${event.target_type ?? ''} ${event.target_id ?? ''}`.trim() || '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  return (
    <Page title={t('audit.title')} description={t('audit.description')}>
      <Card>{body}</Card>
    </Page>
  );
}
