import { useState } from 'react';
import type { FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { SelectField, TextField } from '@/components/ui/field';
import { Spinner } from '@/components/ui/spinner';
import { useCreateModel } from '@/features/providers/api/create-model';
import type { CreateModelInput } from '@/features/providers/api/create-model';
import { useProviderKeys } from '@/features/providers/api/get-provider-keys';
import { useLastKeyTest, useTestProviderKey } from '@/features/providers/api/test-provider-key';
import { providerLabel } from '@/features/providers/presets';
import { errorMessage, fieldErrors } from '@/lib/errors';
import { isDecimalString } from '@/utils/decimal';

type PriceField = 'input_usd_per_mtok' | 'output_usd_per_mtok' | 'cached_input_usd_per_mtok';
const PRICE_FIELDS: ReadonlyArray<{ name: PriceField; labelKey: string }> = [
  { name: 'input_usd_per_mtok', labelKey: 'models.inputPrice' },
  { name: 'output_usd_per_mtok', labelKey: 'models.outputPrice' },
  { name: 'cached_input_usd_per_mtok', labelKey: 'models.cachedPrice' },
];

const EMPTY_PRICES: Record<PriceField, string> = {
  input_usd_per_mtok: '',
  output_usd_per_mtok: '',
  cached_input_usd_per_mtok: '',
};

export function AddModelForm() {
  const { t } = useTranslation();
  const keys = useProviderKeys();
  const create = useCreateModel();
  const discover = useTestProviderKey();
  const [chosenKey, setChosenKey] = useState<number | undefined>(undefined);
  const keyId = chosenKey ?? keys.data?.[0]?.id;
  const lastTest = useLastKeyTest(keyId);
  const [picked, setPicked] = useState('');
  const [name, setName] = useState('');
  const [id, setId] = useState('');
  const [prices, setPrices] = useState(EMPTY_PRICES);
  const [enabled, setEnabled] = useState(true);
  const [clientErrors, setClientErrors] = useState<Record<string, string[]>>({});
  const serverErrors = fieldErrors(create.error);
  const errors = { ...serverErrors, ...clientErrors };

  if (keys.isPending) return <Spinner label={t('app.loading')} />;
  if (keys.isError) return <Alert>{errorMessage(keys.error)}</Alert>;
  if (keys.data.length === 0 || keyId === undefined) {
    return <p className="muted">{t('models.noKeys')}</p>;
  }

  const discovered = lastTest.data?.ok ? lastTest.data.models : [];

  const pick = (modelName: string) => {
    setPicked(modelName);
    const entry = discovered.find((model) => model.name === modelName);
    if (!entry) return;
    setName(entry.name);
    // Catalog prices prefill the form as the exact decimal strings the server sent.
    setPrices({
      input_usd_per_mtok: entry.input_usd_per_mtok ?? '',
      output_usd_per_mtok: entry.output_usd_per_mtok ?? '',
      cached_input_usd_per_mtok: entry.cached_input_usd_per_mtok ?? '',
    });
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const problems: Record<string, string[]> = {};
    for (const { name: field } of PRICE_FIELDS) {
      const value = prices[field].trim();
      if (value && !isDecimalString(value)) problems[field] = [t('models.badPrice')];
    }
    setClientErrors(problems);
    if (Object.keys(problems).length > 0) return;
    const input: CreateModelInput = { provider_key: keyId, name: name.trim(), enabled };
    if (id.trim()) input.id = id.trim();
    for (const { name: field } of PRICE_FIELDS) {
      const value = prices[field].trim();
      if (value) input[field] = value;
    }
    create.mutate(input, {
      onSuccess: () => {
        setPicked('');
        setName('');
        setId('');
        setPrices(EMPTY_PRICES);
      },
    });
  };

  return (
    <form onSubmit={onSubmit} className="stack">
      <div className="form-grid">
        <SelectField
          label={t('models.key')}
          value={String(keyId)}
          errors={errors.provider_key}
          onChange={(e) => {
            setChosenKey(Number(e.target.value));
            setPicked('');
          }}
          options={keys.data.map((key) => ({
            value: String(key.id),
            label: `${key.label} (${providerLabel(key.provider)})`,
          }))}
        />
        <div className="form-actions field-offset">
          <Button
            variant="secondary"
            loading={discover.isPending}
            onClick={() => discover.mutate(keyId)}
          >
            {t('models.discover')}
          </Button>
        </div>
      </div>
      {discover.isError ? <Alert>{errorMessage(discover.error)}</Alert> : null}
      {lastTest.data && !lastTest.data.ok ? (
        <Alert title={t('providerKeys.testFailed')}>
          {lastTest.data.error?.message ?? t('common.genericError')}
        </Alert>
      ) : null}
      {discovered.length > 0 ? (
        <SelectField
          label={t('models.discovered')}
          value={picked}
          onChange={(e) => pick(e.target.value)}
          options={[
            { value: '', label: t('models.pick') },
            ...discovered.map((model) => ({ value: model.name, label: model.name })),
          ]}
        />
      ) : null}
      <div className="form-grid">
        <TextField
          label={t('models.name')}
          required
          spellCheck={false}
          value={name}
          hint={t('models.nameHint')}
          errors={errors.name}
          onChange={(e) => setName(e.target.value)}
        />
        <TextField
          label={t('models.id')}
          spellCheck={false}
          value={id}
          placeholder={name}
          hint={t('models.idHint')}
          errors={errors.id}
          onChange={(e) => setId(e.target.value)}
        />
      </div>
      <div className="form-grid">
        {PRICE_FIELDS.map(({ name: field, labelKey }) => (
          <TextField
            key={field}
            label={t(labelKey)}
            inputMode="decimal"
            spellCheck={false}
            value={prices[field]}
            placeholder="0.00"
            hint={t('models.priceHint')}
            errors={errors[field]}
            onChange={(e) => setPrices((current) => ({ ...current, [field]: e.target.value }))}
          />
        ))}
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        {t('models.enabled')}
      </label>
      {create.isError && Object.keys(serverErrors).length === 0 ? (
        <Alert>{errorMessage(create.error)}</Alert>
      ) : null}
      <div className="form-actions">
        <Button type="submit" loading={create.isPending}>
          {t('models.add')}
        </Button>
      </div>
    </form>
  );
}
