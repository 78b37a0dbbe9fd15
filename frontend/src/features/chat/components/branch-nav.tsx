import { useTranslation } from 'react-i18next';

/** ‹ 2/3 › between the siblings of one message (edits of a question, regenerated answers). */
export function BranchNav({
  index,
  count,
  onSelect,
}: {
  index: number;
  count: number;
  onSelect: (index: number) => void;
}) {
  const { t } = useTranslation();
  if (count < 2) return null;
  return (
    <span className="branch-nav" role="group" aria-label={t('chat.versions')}>
      <button
        type="button"
        className="icon-button icon-button-sm"
        aria-label={t('chat.previousVersion')}
        disabled={index <= 0}
        onClick={() => onSelect(index - 1)}
      >
        <span aria-hidden="true">‹</span>
      </button>
      <span className="branch-count">
        {index + 1}/{count}
      </span>
      <button
        type="button"
        className="icon-button icon-button-sm"
        aria-label={t('chat.nextVersion')}
        disabled={index >= count - 1}
        onClick={() => onSelect(index + 1)}
      >
        <span aria-hidden="true">›</span>
      </button>
    </span>
  );
}
