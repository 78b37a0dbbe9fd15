import { useEffect, useId, useRef } from 'react';
import type { KeyboardEvent, ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

import { Button } from '@/components/ui/button';
import { useChatStore, useDraft } from '@/features/chat/stores/chat-store';
import { useMediaQuery } from '@/lib/media-query';

/**
 * Enter sends, Shift+Enter adds a line, Esc stops the answer being written. The text is the
 * draft of `conversationId` (null: a new conversation), kept while the user looks elsewhere.
 */
export function Composer({
  conversationId,
  disabled,
  generating,
  onSend,
  onStop,
  hint,
}: {
  conversationId: number | null;
  disabled: boolean;
  generating: boolean;
  onSend: (content: string) => boolean;
  onStop: () => void;
  /** Shown under the box (the next message's worst-case cost). */
  hint?: ReactNode;
}) {
  const { t } = useTranslation();
  const id = useId();
  const ref = useRef<HTMLTextAreaElement>(null);
  const text = useDraft(conversationId);
  const setDraft = useChatStore((state) => state.setDraft);
  const setText = (value: string): void => setDraft(conversationId, value);
  // The long placeholder (with the Enter / Shift+Enter hint) wraps to two lines on a phone.
  const narrow = useMediaQuery('(max-width: 760px)');

  useEffect(() => {
    const area = ref.current;
    if (!area) return;
    area.style.height = 'auto';
    area.style.height = `${Math.min(area.scrollHeight, 240)}px`;
  }, [text]);

  const canSend = !disabled && !generating && text.trim().length > 0;
  const submit = (): void => {
    if (!canSend) return;
    if (onSend(text)) setText('');
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === 'Escape' && generating) {
      event.preventDefault();
      onStop();
    }
  };
  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <label htmlFor={id} className="visually-hidden">
        {t('chat.message')}
      </label>
      <textarea
        id={id}
        ref={ref}
        className="input composer-input"
        rows={1}
        value={text}
        placeholder={narrow ? t('chat.placeholderShort') : t('chat.placeholder')}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={onKeyDown}
      />
      {generating ? (
        <Button variant="secondary" onClick={onStop}>
          {t('chat.stop')}
        </Button>
      ) : (
        <Button type="submit" disabled={!canSend}>
          {t('chat.send')}
        </Button>
      )}
      {/* Always there, so the box neither narrows nor jumps when the hint appears. */}
      <div className="composer-hint">{hint}</div>
    </form>
  );
}
