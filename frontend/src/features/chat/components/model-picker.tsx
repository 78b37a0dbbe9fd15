import { useId } from 'react';
import { useTranslation } from 'react-i18next';

import type { ChatModel } from '@/features/chat/types/chat';
import { formatPricePerMtok } from '@/utils/money';

/** Each option shows the model's input and output price per million tokens (the closed picker too). */
export function ModelPicker({
  models,
  value,
  onChange,
}: {
  models: ChatModel[];
  value: string;
  onChange: (id: string) => void;
}) {
  const { t } = useTranslation();
  const id = useId();
  return (
    <div className="model-picker">
      <label htmlFor={id} className="visually-hidden">
        {t('chat.model')}
      </label>
      <select
        id={id}
        className="input input-compact"
        value={value}
        onChange={(event) => onChange(event.target.value)}
        disabled={models.length === 0}
      >
        {models.length === 0 ? <option value="">{t('chat.noModelOption')}</option> : null}
        {models.map((model) => (
          <option key={model.id} value={model.id}>
            {t('chat.modelOption', {
              id: model.id,
              input: formatPricePerMtok(model.input_usd_per_mtok),
              output: formatPricePerMtok(model.output_usd_per_mtok),
            })}
          </option>
        ))}
      </select>
    </div>
  );
}
