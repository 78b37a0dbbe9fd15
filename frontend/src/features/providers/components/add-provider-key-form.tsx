import { useState } from 'react';
import type { FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { SelectField, TextField } from '@/components/ui/field';
import { useCreateProviderKey } from '@/features/providers/api/create-provider-key';
import {
  COMPATIBLE_PRESETS,
  PROVIDERS,
  suggestedLabel,
} from '@/features/providers/presets';
import type { ProviderId } from '@/features/providers/presets';
import { errorMessage, fieldErrors } from '@/lib/errors';

export function AddProviderKeyForm() {
  const { t } = useTranslation();
  const create = useCreateProviderKey();
  const [provider, setProvider] = useState<ProviderId>('openai');
  const [preset, setPreset] = useState('ollama');
  const [label, setLabel] = useState('');
  const [apiKey, setApiKey] = useState('');
  const [baseUrl, setBaseUrl] = useState('');
  const errors = fieldErrors(create.error);
  const compatible = provider === 'openai_compatible';
  const defaults = PROVIDERS.find((entry) => entry.id === provider);

  const choosePreset = (id: string) => {
    setPreset(id);
    setBaseUrl(COMPATIBLE_PRESETS.find((entry) => entry.id === id)?.baseUrl ?? '');
  };

  const chooseProvider = (id: ProviderId) => {
    setProvider(id);
    if (id === 'openai_compatible') choosePreset(preset);
    else setBaseUrl('');
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(
      {
        provider,
        label: label.trim() || suggestedLabel(provider, preset),
        api_key: apiKey.trim(),
        ...(baseUrl.trim() ? { base_url: baseUrl.trim() } : {}),
      },
      {
        onSuccess: () => {
          setApiKey('');
          setLabel('');
        },
      },
    );
  };

  return (
    <form onSubmit={onSubmit} className="stack">
      {create.isError && Object.keys(errors).length === 0 ? (
        <Alert>{errorMessage(create.error)}</Alert>
      ) : null}
      <div className="form-grid">
        <SelectField
          label={t('providerKeys.provider')}
          value={provider}
          errors={errors.provider}
          onChange={(e) => chooseProvider(e.target.value as ProviderId)}
          options={PROVIDERS.map((entry) => ({ value: entry.id, label: entry.label }))}
        />
        {compatible ? (
          <SelectField
            label={t('providerKeys.preset')}
            value={preset}
            onChange={(e) => choosePreset(e.target.value)}
            options={COMPATIBLE_PRESETS.map((entry) => ({
              value: entry.id,
              label: entry.label || t('providerKeys.custom'),
            }))}
          />
        ) : null}
        <TextField
          label={t('providerKeys.label')}
          value={label}
          placeholder={suggestedLabel(provider, preset)}
          errors={errors.label}
          onChange={(e) => setLabel(e.target.value)}
        />
      </div>
      <div className="form-grid">
        <TextField
          label={t('providerKeys.apiKey')}
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={apiKey}
          errors={errors.api_key}
          onChange={(e) => setApiKey(e.target.value)}
        />
        <TextField
          label={t('providerKeys.baseUrl')}
          type="url"
          inputMode="url"
          spellCheck={false}
          required={compatible}
          value={baseUrl}
          placeholder={defaults?.defaultBaseUrl || 'http://localhost:11434/v1'}
          hint={compatible ? t('providerKeys.baseUrlRequired') : t('providerKeys.baseUrlHint')}
          errors={errors.base_url}
          onChange={(e) => setBaseUrl(e.target.value)}
        />
      </div>
      <div className="form-actions">
        <Button type="submit" loading={create.isPending}>
          {t('providerKeys.add')}
        </Button>
      </div>
    </form>
  );
}
