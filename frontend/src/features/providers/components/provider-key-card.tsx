import { useState } from 'react';
import type { FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { ConfirmButton } from '@/components/ui/confirm-button';
import { TextField } from '@/components/ui/field';
import { useDeleteProviderKey } from '@/features/providers/api/delete-provider-key';
import type { ProviderKey } from '@/features/providers/api/get-provider-keys';
import { useTestProviderKey } from '@/features/providers/api/test-provider-key';
import type { KeyTestResult } from '@/features/providers/api/test-provider-key';
import { useUpdateProviderKey } from '@/features/providers/api/update-provider-key';
import { providerLabel } from '@/features/providers/presets';
import { errorMessage, fieldErrors } from '@/lib/errors';
import { formatDateTime } from '@/utils/format';
import { formatPricePerMtok } from '@/utils/money';

function TestResult({ result, label }: { result: KeyTestResult; label: string }) {
  const { t } = useTranslation();
  if (!result.ok) {
    return (
      <Alert title={t('providerKeys.testFailed')}>
        {result.error?.message ?? t('common.genericError')}
        {result.error?.code ? <span className="muted small"> ({result.error.code})</span> : null}
      </Alert>
    );
  }
  return (
    <div className="stack">
      <Alert tone="success">{t('providerKeys.testOk', { count: result.models.length })}</Alert>
      {result.models.length > 0 ? (
        <div className="table-wrap">
          <table aria-label={t('providerKeys.discovered', { label })}>
            <thead>
              <tr>
                <th scope="col">{t('models.name')}</th>
                <th scope="col" className="num">
                  {t('providerKeys.inputPrice')}
                </th>
                <th scope="col" className="num">
                  {t('providerKeys.outputPrice')}
                </th>
              </tr>
            </thead>
            <tbody>
              {result.models.map((model) => (
                <tr key={model.name}>
                  <td className="mono">{model.name}</td>
                  <td className="num">{formatPricePerMtok(model.input_usd_per_mtok)}</td>
                  <td className="num">{formatPricePerMtok(model.output_usd_per_mtok)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

function RotateForm({
  id,
  onDone,
  onCancel,
}: {
  id: number;
  onDone: () => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const update = useUpdateProviderKey();
  const [apiKey, setApiKey] = useState('');
  const errors = fieldErrors(update.error);
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    update.mutate({ id, api_key: apiKey.trim() }, { onSuccess: onDone });
  };
  return (
    <form onSubmit={onSubmit} className="sub-panel stack">
      {update.isError && !errors.api_key ? <Alert>{errorMessage(update.error)}</Alert> : null}
      <TextField
        label={t('providerKeys.newKey')}
        type="password"
        autoComplete="off"
        required
        value={apiKey}
        errors={errors.api_key}
        onChange={(e) => setApiKey(e.target.value)}
      />
      <div className="form-actions">
        <Button type="submit" size="sm" loading={update.isPending}>
          {t('providerKeys.saveRotate')}
        </Button>
        <Button variant="ghost" size="sm" onClick={onCancel}>
          {t('common.cancel')}
        </Button>
      </div>
    </form>
  );
}

export function ProviderKeyCard({ providerKey }: { providerKey: ProviderKey }) {
  const { t, i18n } = useTranslation();
  const test = useTestProviderKey();
  const remove = useDeleteProviderKey();
  const [rotating, setRotating] = useState(false);
  const [rotated, setRotated] = useState(false);
  const headingId = `provider-key-${providerKey.id}`;

  return (
    <article className="card stack" aria-labelledby={headingId}>
      <div className="page-header">
        <div>
          <h2 id={headingId} className="card-title">
            {providerKey.label}
          </h2>
          <p className="muted small">
            {providerLabel(providerKey.provider)}
            {providerKey.base_url ? (
              <>
                {' · '}
                <span className="mono">{providerKey.base_url}</span>
              </>
            ) : null}
          </p>
        </div>
        <div className="actions">
          <Button
            variant="secondary"
            size="sm"
            loading={test.isPending}
            onClick={() => test.mutate(providerKey.id)}
          >
            {test.isPending ? t('providerKeys.testing') : t('providerKeys.test')}
          </Button>
          <Button
            variant="secondary"
            size="sm"
            aria-expanded={rotating}
            onClick={() => {
              setRotating((value) => !value);
              setRotated(false);
            }}
          >
            {t('providerKeys.rotate')}
          </Button>
          <ConfirmButton
            label={t('common.delete')}
            question={t('providerKeys.deleteQuestion', { label: providerKey.label })}
            confirmLabel={t('common.confirmDelete')}
            cancelLabel={t('common.cancel')}
            loading={remove.isPending}
            onConfirm={() => remove.mutate(providerKey.id)}
          />
        </div>
      </div>
      <dl className="facts">
        <div>
          <dt>{t('providerKeys.key')}</dt>
          <dd className="mono">{providerKey.masked_key ?? '—'}</dd>
        </div>
        <div>
          <dt>{t('providerKeys.lastUsed')}</dt>
          <dd>
            {providerKey.last_used_at
              ? formatDateTime(providerKey.last_used_at, i18n.language)
              : t('common.never')}
          </dd>
        </div>
        <div>
          <dt>{t('providerKeys.created')}</dt>
          <dd>{formatDateTime(providerKey.created_at, i18n.language)}</dd>
        </div>
      </dl>
      {remove.isError ? <Alert>{errorMessage(remove.error)}</Alert> : null}
      {rotated ? <Alert tone="success">{t('providerKeys.rotated')}</Alert> : null}
      {rotating ? (
        <RotateForm
          id={providerKey.id}
          onDone={() => {
            setRotating(false);
            setRotated(true);
          }}
          onCancel={() => setRotating(false)}
        />
      ) : null}
      {test.isError ? <Alert title={t('providerKeys.testFailed')}>{errorMessage(test.error)}</Alert> : null}
      {test.data ? <TestResult result={test.data} label={providerKey.label} /> : null}
    </article>
  );
}
