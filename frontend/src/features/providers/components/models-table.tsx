import { Fragment, useState } from 'react';
import type { FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { ConfirmButton } from '@/components/ui/confirm-button';
import { TextField } from '@/components/ui/field';
import { Spinner } from '@/components/ui/spinner';
import { useDeleteModel } from '@/features/providers/api/delete-model';
import { useModels } from '@/features/providers/api/get-models';
import type { Model } from '@/features/providers/api/get-models';
import { useUpdateModel } from '@/features/providers/api/update-model';
import { providerLabel } from '@/features/providers/presets';
import { errorMessage, fieldErrors } from '@/lib/errors';
import { isDecimalString } from '@/utils/decimal';
import { formatPricePerMtok } from '@/utils/money';

function EditPrices({ model, onClose }: { model: Model; onClose: () => void }) {
  const { t } = useTranslation();
  const update = useUpdateModel();
  const [input, setInput] = useState(model.input_usd_per_mtok ?? '');
  const [output, setOutput] = useState(model.output_usd_per_mtok ?? '');
  const [cached, setCached] = useState(model.cached_input_usd_per_mtok ?? '');
  const serverErrors = fieldErrors(update.error);
  const bad = (value: string, required: boolean) =>
    (required || value.trim()) && !isDecimalString(value) ? [t('models.badPrice')] : undefined;

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (bad(input, true) || bad(output, true) || bad(cached, false)) return;
    update.mutate(
      {
        id: model.id,
        input_usd_per_mtok: input.trim(),
        output_usd_per_mtok: output.trim(),
        cached_input_usd_per_mtok: cached.trim() || null,
      },
      { onSuccess: onClose },
    );
  };

  return (
    <form onSubmit={onSubmit} className="sub-panel stack">
      <div className="form-grid">
        <TextField
          label={t('models.inputPrice')}
          inputMode="decimal"
          value={input}
          errors={bad(input, true) ?? serverErrors.input_usd_per_mtok}
          onChange={(e) => setInput(e.target.value)}
        />
        <TextField
          label={t('models.outputPrice')}
          inputMode="decimal"
          value={output}
          errors={bad(output, true) ?? serverErrors.output_usd_per_mtok}
          onChange={(e) => setOutput(e.target.value)}
        />
        <TextField
          label={t('models.cachedPrice')}
          inputMode="decimal"
          value={cached}
          errors={bad(cached, false) ?? serverErrors.cached_input_usd_per_mtok}
          onChange={(e) => setCached(e.target.value)}
        />
      </div>
      {update.isError && Object.keys(serverErrors).length === 0 ? (
        <Alert>{errorMessage(update.error)}</Alert>
      ) : null}
      <div className="form-actions">
        <Button type="submit" size="sm" loading={update.isPending}>
          {t('common.save')}
        </Button>
        <Button variant="ghost" size="sm" onClick={onClose}>
          {t('common.cancel')}
        </Button>
      </div>
    </form>
  );
}

export function ModelsTable() {
  const { t } = useTranslation();
  const models = useModels({ all: true });
  const update = useUpdateModel();
  const remove = useDeleteModel();
  const [editing, setEditing] = useState<string | null>(null);

  if (models.isPending) return <Spinner label={t('app.loading')} />;
  if (models.isError) return <Alert>{errorMessage(models.error)}</Alert>;
  if (models.data.length === 0) return <p className="muted">{t('models.empty')}</p>;

  return (
    <div className="stack">
      {update.isError ? <Alert>{errorMessage(update.error)}</Alert> : null}
      {remove.isError ? <Alert>{errorMessage(remove.error)}</Alert> : null}
      <div className="table-wrap">
        <table aria-label={t('models.title')}>
          <thead>
            <tr>
              <th scope="col">{t('models.id')}</th>
              <th scope="col" className="hide-narrow">
                {t('models.provider')}
              </th>
              <th scope="col">{t('models.prices')}</th>
              <th scope="col">{t('models.enabled')}</th>
              <th scope="col">
                <span className="visually-hidden">{t('members.actions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {models.data.map((model) => (
              <Fragment key={model.id}>
                <tr>
                  <td>
                    <span className="mono">{model.id}</span>
                    {model.name !== model.id ? (
                      <div className="muted small mono">{model.name}</div>
                    ) : null}
                  </td>
                  <td className="hide-narrow">{providerLabel(model.provider)}</td>
                  <td>
                    {formatPricePerMtok(model.input_usd_per_mtok)}
                    {' / '}
                    {formatPricePerMtok(model.output_usd_per_mtok)}
                  </td>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={t('models.enableFor', { id: model.id })}
                      checked={model.enabled}
                      disabled={update.isPending}
                      onChange={(e) => update.mutate({ id: model.id, enabled: e.target.checked })}
                    />
                  </td>
                  <td>
                    <div className="actions">
                      <Button
                        variant="secondary"
                        size="sm"
                        aria-expanded={editing === model.id}
                        onClick={() => setEditing(editing === model.id ? null : model.id)}
                      >
                        {t('models.editPrices')}
                      </Button>
                      <ConfirmButton
                        label={t('common.delete')}
                        question={t('models.deleteQuestion', { id: model.id })}
                        confirmLabel={t('common.confirmDelete')}
                        cancelLabel={t('common.cancel')}
                        loading={remove.isPending}
                        onConfirm={() => remove.mutate(model.id)}
                      />
                    </div>
                  </td>
                </tr>
                {editing === model.id ? (
                  <tr>
                    <td colSpan={5}>
                      <EditPrices model={model} onClose={() => setEditing(null)} />
                    </td>
                  </tr>
                ) : null}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
