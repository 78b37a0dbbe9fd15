import { useState } from 'react';
import { useTranslation } from 'react-i18next';

import { SelectField } from '@/components/ui/field';
import { useModels } from '@/features/providers/api/get-models';
import { useOrgSettings } from '@/features/providers/api/get-org-settings';
import { useUpdateOrgSettings } from '@/features/providers/api/update-org-settings';
import { errorMessage, fieldErrors } from '@/lib/errors';

/**
 * Which model names new conversations after their first answer. Without one every conversation
 * stays "New conversation" in the sidebar.
 */
export function TitleModelSetting() {
  const { t } = useTranslation();
  const settings = useOrgSettings();
  const models = useModels({ all: true });
  const update = useUpdateOrgSettings();
  const [saved, setSaved] = useState(false);
  if (!settings.data || !models.data) return null;

  const current = settings.data.title_model ?? '';
  const enabled = models.data.filter((model) => model.enabled);
  const options = [
    { value: '', label: t('models.titleModelOff') },
    ...enabled.map((model) => ({ value: model.id, label: model.id })),
  ];
  // A title model that was disabled since stays visible, so the select shows the truth.
  if (current && !enabled.some((model) => model.id === current)) {
    options.push({ value: current, label: current });
  }
  const errors = fieldErrors(update.error).title_model;
  return (
    <div className="stack">
      {/* One setting: it is saved as soon as it is picked. */}
      <SelectField
        label={t('models.titleModel')}
        hint={t('models.titleModelHint')}
        options={options}
        value={update.isPending ? (update.variables.title_model ?? '') : current}
        errors={errors}
        disabled={update.isPending}
        onChange={(event) => {
          setSaved(false);
          update.mutate(
            { title_model: event.target.value || null },
            { onSuccess: () => setSaved(true) },
          );
        }}
      />
      {saved ? (
        <p className="muted small" role="status">
          {t('models.titleModelSaved')}
        </p>
      ) : null}
      {update.error && !errors ? (
        <p className="field-error" role="alert">
          {errorMessage(update.error)}
        </p>
      ) : null}
    </div>
  );
}
