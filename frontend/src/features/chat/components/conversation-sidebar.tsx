import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { NavLink, useNavigate } from 'react-router';

import { Button } from '@/components/ui/button';
import { ConfirmButton } from '@/components/ui/confirm-button';
import { useDeleteConversation } from '@/features/chat/api/delete-conversation';
import { useConversations } from '@/features/chat/api/get-conversations';
import { useUpdateConversation } from '@/features/chat/api/update-conversation';
import type { Conversation } from '@/features/chat/types/chat';
import { groupConversations } from '@/features/chat/utils/date-groups';
import { errorMessage } from '@/lib/errors';

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

function ConversationRow({
  conversation,
  current,
  onNavigate,
}: {
  conversation: Conversation;
  current: boolean;
  onNavigate: () => void;
}) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const update = useUpdateConversation();
  const remove = useDeleteConversation();
  const [menu, setMenu] = useState(false);
  const [renaming, setRenaming] = useState(false);
  const title = conversation.title || t('chat.untitled');
  const [draft, setDraft] = useState(title);

  if (renaming) {
    return (
      <form
        className="conversation-rename"
        onSubmit={(event) => {
          event.preventDefault();
          if (!draft.trim()) return;
          update.mutate({ id: conversation.id, title: draft.trim() }, { onSuccess: () => setRenaming(false) });
        }}
      >
        <input
          className="input input-compact"
          aria-label={t('chat.renameLabel')}
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === 'Escape') setRenaming(false);
          }}
          autoFocus
        />
        <Button type="submit" size="sm" loading={update.isPending}>
          {t('common.save')}
        </Button>
      </form>
    );
  }
  return (
    <div className={`conversation-row${current ? ' current' : ''}`}>
      <NavLink
        to={`/chat/${conversation.id}`}
        className="conversation-link"
        aria-current={current ? 'page' : undefined}
        onClick={onNavigate}
      >
        {title}
      </NavLink>
      <button
        type="button"
        className="icon-button icon-button-sm conversation-more"
        aria-label={t('chat.actionsFor', { title })}
        aria-expanded={menu}
        onClick={() => setMenu((open) => !open)}
      >
        <span aria-hidden="true">⋯</span>
      </button>
      {menu ? (
        <div className="conversation-menu">
          <Button
            variant="ghost"
            size="sm"
            onClick={() => {
              setDraft(title);
              setRenaming(true);
              setMenu(false);
            }}
          >
            {t('chat.rename')}
          </Button>
          <Button
            variant="ghost"
            size="sm"
            loading={update.isPending}
            onClick={() =>
              update.mutate(
                { id: conversation.id, archived: !conversation.archived },
                {
                  onSuccess: () => {
                    setMenu(false);
                    if (current) void navigate('/chat');
                  },
                },
              )
            }
          >
            {conversation.archived ? t('chat.unarchive') : t('chat.archive')}
          </Button>
          <ConfirmButton
            label={t('chat.delete')}
            question={t('chat.deleteQuestion', { title })}
            confirmLabel={t('common.confirmDelete')}
            cancelLabel={t('common.cancel')}
            loading={remove.isPending}
            onConfirm={() =>
              remove.mutate(conversation.id, {
                onSuccess: () => {
                  if (current) void navigate('/chat');
                },
              })
            }
          />
          {update.error || remove.error ? (
            <p className="field-error" role="alert">
              {errorMessage(update.error ?? remove.error)}
            </p>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

export function ConversationSidebar({
  currentId,
  open,
  onClose,
}: {
  currentId: number | null;
  open: boolean;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [search, setSearch] = useState('');
  const [showArchived, setShowArchived] = useState(false);
  const q = useDebounced(search, 250);
  const conversations = useConversations({ q });
  const groups = useMemo(() => {
    const list = (conversations.data ?? []).filter((c) => c.archived === showArchived);
    return groupConversations(list, new Date());
  }, [conversations.data, showArchived]);

  return (
    <aside
      id="chat-sidebar"
      className={`chat-sidebar${open ? ' open' : ''}`}
      aria-label={t('chat.conversations')}
    >
      <div className="chat-sidebar-top">
        <Button
          className="new-chat"
          onClick={() => {
            onClose();
            void navigate('/chat');
          }}
        >
          + {t('chat.newChat')}
        </Button>
        <button
          type="button"
          className="icon-button chat-drawer-close"
          aria-label={t('chat.closeConversations')}
          onClick={onClose}
        >
          <span aria-hidden="true">×</span>
        </button>
      </div>
      <input
        type="search"
        className="input input-compact"
        aria-label={t('chat.search')}
        placeholder={t('chat.search')}
        value={search}
        onChange={(event) => setSearch(event.target.value)}
      />
      <nav className="conversation-groups" aria-label={t('chat.conversations')}>
        {conversations.isError ? (
          <p className="field-error" role="alert">
            {errorMessage(conversations.error)}
          </p>
        ) : null}
        {conversations.isSuccess && groups.length === 0 ? (
          <p className="muted small">{q ? t('chat.noResults') : t('chat.noConversations')}</p>
        ) : null}
        {groups.map(({ group, items }) => (
          <section key={group} className="conversation-group">
            <h2 className="nav-heading">{t(`chat.groups.${group}`)}</h2>
            <ul>
              {items.map((conversation) => (
                <li key={conversation.id}>
                  <ConversationRow
                    conversation={conversation}
                    current={conversation.id === currentId}
                    onNavigate={onClose}
                  />
                </li>
              ))}
            </ul>
          </section>
        ))}
      </nav>
      <label className="checkbox small archived-toggle">
        <input
          type="checkbox"
          checked={showArchived}
          onChange={(event) => setShowArchived(event.target.checked)}
        />
        {t('chat.showArchived')}
      </label>
    </aside>
  );
}
