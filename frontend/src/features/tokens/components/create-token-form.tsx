import { useState } from 'react';
import type { FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { CopyButton } from '@/components/ui/copy-button';
import { TextField } from '@/components/ui/field';
import { useCreateToken } from '@/features/tokens/api/create-token';
import type { CreatedToken } from '@/features/tokens/api/create-token';
import { useUsableModels } from '@/features/tokens/api/get-usable-models';
import { errorMessage, fieldErrors } from '@/lib/errors';

/** Creates a token; its secret is shown here once and never again. */
export function CreateTokenForm() {
  const { t } = useTranslation();
  const create = useCreateToken();
  const models = useUsableModels();
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [budget, setBudget] = useState('');
  const [allowed, setAllowed] = useState<string[]>([]);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const errors = fieldErrors(create.error);

  const toggle = (id: string) =>
    setAllowed((current) =>
      current.includes(id) ? current.filter((m) => m !== id) : [...current, id],
    );

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(
      {
        name: name.trim(),
        ...(expires ? { expires_at: new Date(`${expires}T23:59:59`).toISOString() } : {}),
        ...(budget.trim() ? { max_budget_usd: budget.trim() } : {}),
        ...(allowed.length > 0 ? { models: allowed } : {}),
      },
      {
        onSuccess: (token) => {
          setCreated(token);
          setName('');
          setExpires('');
          setBudget('');
          setAllowed([]);
        },
      },
    );
  };

  return (
    <div className="stack">
      {created ? (
        <div className="alert alert-success" role="status" aria-label={t('tokens.secretTitle')}>
          <p>
            <strong>{t('tokens.secretTitle')}</strong> {t('tokens.secretOnce')}
          </p>
          <code className="token-secret">{created.token}</code>{' '}
          <CopyButton text={created.token} label={t('tokens.copy')} copiedLabel={t('common.copied')} />{' '}
          <Button variant="secondary" size="sm" onClick={() => setCreated(null)}>
            {t('tokens.done')}
          </Button>
        </div>
      ) : null}
      <form onSubmit={onSubmit} className="stack">
        {create.isError && Object.keys(errors).length === 0 ? (
          <Alert>{errorMessage(create.error)}</Alert>
        ) : null}
        <div className="form-grid">
          <TextField
            label={t('tokens.name')}
            required
            maxLength={100}
            value={name}
            errors={errors.name}
            onChange={(e) => setName(e.target.value)}
          />
          <TextField
            label={t('tokens.expires')}
            type="date"
            hint={t('common.optional')}
            value={expires}
            errors={errors.expires_at}
            onChange={(e) => setExpires(e.target.value)}
          />
          <TextField
            label={t('tokens.maxBudget')}
            inputMode="decimal"
            placeholder="10.00"
            hint={t('tokens.maxBudgetHint')}
            value={budget}
            errors={errors.max_budget_usd}
            onChange={(e) => setBudget(e.target.value)}
          />
        </div>
        <fieldset className="field">
          <legend>{t('tokens.models')}</legend>
          <p className="field-hint">{t('tokens.modelsHint')}</p>
          {(models.data ?? []).map((model) => (
            <label key={model.id} className="checkbox">
              <input
                type="checkbox"
                checked={allowed.includes(model.id)}
                onChange={() => toggle(model.id)}
              />{' '}
              {model.id}
            </label>
          ))}
          {errors.models ? (
            <p className="field-error" role="alert">
              {errors.models.join(' ')}
            </p>
          ) : null}
        </fieldset>
        <div className="form-actions">
          <Button type="submit" loading={create.isPending}>
            {t('tokens.create')}
          </Button>
        </div>
      </form>
    </div>
  );
}
