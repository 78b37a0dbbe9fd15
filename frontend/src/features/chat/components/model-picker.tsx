import { useId } from 'react';
import { useTranslation } from 'react-i18next';

import type { ChatModel } from '@/features/chat/types/chat';
import { formatPricePerMtok } from '@/utils/money';

/** Each option shows the model's input and output price per million tokens. */
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
  const current = models.find((model) => model.id === value);
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
        aria-describedby={current ? `${id}-price` : undefined}
      >
        {models.length === 0 ? <option value="">{t('chat.noModels')}</option> : null}
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
      {current ? (
        <span id={`${id}-price`} className="model-price muted small">
          {t('chat.modelPrice', {
            input: formatPricePerMtok(current.input_usd_per_mtok),
            output: formatPricePerMtok(current.output_usd_per_mtok),
          })}
        </span>
      ) : null}
    </div>
  );
}
