import { memo, useState } from 'react';
import { useTranslation } from 'react-i18next';

import { Button } from '@/components/ui/button';
import { CopyButton } from '@/components/ui/copy-button';
import { BranchNav } from '@/features/chat/components/branch-nav';
import { ErrorText } from '@/features/chat/components/chat-notice';
import { MessageContent } from '@/features/chat/components/message-content';
import { useStreamText } from '@/features/chat/stores/delta-store';
import { isGenerating } from '@/features/chat/types/chat';
import type { Message } from '@/features/chat/types/chat';
import { toNanos } from '@/utils/decimal';
import { formatUsd } from '@/utils/money';

export type MessageActions = {
  onSelectSibling: (message: Message, index: number) => void;
  onRegenerate: (message: Message) => void;
  onEdit: (message: Message, content: string) => void;
};

function MessageMeta({ message }: { message: Message }) {
  const { t, i18n } = useTranslation();
  if (message.role !== 'assistant') return null;
  const number = new Intl.NumberFormat(i18n.language);
  const parts: string[] = [];
  if (message.model) parts.push(message.model);
  if (message.usage) {
    parts.push(
      t('chat.tokens', {
        input: number.format(message.usage.input_tokens),
        output: number.format(message.usage.output_tokens),
      }),
    );
  }
  const cost = toNanos(message.cost_usd);
  if (message.usage || (cost !== undefined && cost !== 0n)) {
    parts.push(`${t('chat.cost')} ${formatUsd(message.cost_usd, { minDecimals: 2, maxDecimals: 6 })}`);
  }
  if (message.status === 'stopped') parts.push(t('chat.status.stopped'));
  return <p className="message-meta">{parts.join(' · ')}</p>;
}

function EditForm({
  initial,
  onCancel,
  onSubmit,
}: {
  initial: string;
  onCancel: () => void;
  onSubmit: (content: string) => void;
}) {
  const { t } = useTranslation();
  const [text, setText] = useState(initial);
  return (
    <form
      className="message-edit"
      onSubmit={(event) => {
        event.preventDefault();
        if (text.trim()) onSubmit(text);
      }}
    >
      <textarea
        className="input"
        aria-label={t('chat.editLabel')}
        value={text}
        rows={Math.min(10, Math.max(2, text.split('\n').length))}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Escape') onCancel();
        }}
        autoFocus
      />
      <div className="form-actions">
        <Button type="submit" size="sm" disabled={!text.trim()}>
          {t('chat.saveAndSend')}
        </Button>
        <Button variant="ghost" size="sm" onClick={onCancel}>
          {t('common.cancel')}
        </Button>
      </div>
    </form>
  );
}

export const MessageItem = memo(function MessageItem({
  message,
  index,
  siblingCount,
  busy,
  actions,
}: {
  message: Message;
  index: number;
  siblingCount: number;
  /** Something is generating in this conversation: no regenerate or edit meanwhile. */
  busy: boolean;
  actions: MessageActions;
}) {
  const { t } = useTranslation();
  const [editing, setEditing] = useState(false);
  const streamText = useStreamText(message.id);
  const generating = isGenerating(message);
  // A stream left in the store for a message that has since finished (a missed frame) loses.
  const text = generating ? (streamText ?? message.content) : message.content;
  const isUser = message.role === 'user';
  return (
    <article
      className={[
        'message',
        `message-${message.role}`,
        message.status === 'failed' ? 'message-failed' : '',
        generating && text ? 'message-streaming' : '',
        editing ? 'message-editing' : '',
      ]
        .filter(Boolean)
        .join(' ')}
      aria-label={isUser ? t('chat.you') : (message.model ?? t('chat.assistant'))}
      data-message-id={message.id}
    >
      {editing ? (
        <EditForm
          initial={message.content}
          onCancel={() => setEditing(false)}
          onSubmit={(content) => {
            setEditing(false);
            actions.onEdit(message, content);
          }}
        />
      ) : (
        <div className="message-body">
          {text ? <MessageContent text={text} markdown={!isUser} /> : null}
          {generating && !text ? (
            <p className="message-waiting muted" role="status">
              <span className="typing" aria-hidden="true" />
              {t('chat.status.pending')}
            </p>
          ) : null}
          {generating && text ? <span className="cursor" aria-hidden="true" /> : null}
          {message.status === 'failed' && message.error ? (
            <ErrorText
              code={message.error.code}
              message={message.error.message}
              detail={message.error.detail}
            />
          ) : null}
        </div>
      )}
      <div className="message-footer">
        <BranchNav
          index={index}
          count={siblingCount}
          onSelect={(next) => actions.onSelectSibling(message, next)}
        />
        <MessageMeta message={message} />
        {!editing && !generating ? (
          <span className="message-actions">
            {isUser ? (
              <Button variant="ghost" size="sm" disabled={busy} onClick={() => setEditing(true)}>
                {t('chat.edit')}
              </Button>
            ) : (
              <>
                <CopyButton
                  text={message.content}
                  label={t('chat.copy')}
                  copiedLabel={t('chat.copied')}
                  variant="ghost"
                />
                <Button
                  variant="ghost"
                  size="sm"
                  disabled={busy}
                  onClick={() => actions.onRegenerate(message)}
                >
                  {t('chat.regenerate')}
                </Button>
              </>
            )}
          </span>
        ) : null}
      </div>
    </article>
  );
});
