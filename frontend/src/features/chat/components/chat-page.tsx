import '@/features/chat/components/chat.css';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';

import { Alert } from '@/components/ui/alert';
import { IconGlyph } from '@/components/ui/icons';
import { Spinner } from '@/components/ui/spinner';
import { newClientId } from '@/features/chat/api/frames';
import type { MessageSendFrame } from '@/features/chat/api/frames';
import { useChatModels } from '@/features/chat/api/get-chat-models';
import { useConversations } from '@/features/chat/api/get-conversations';
import { useMessages } from '@/features/chat/api/get-messages';
import { BudgetMeter } from '@/features/chat/components/budget-meter';
import { BudgetWarningBanner, ChatNotice } from '@/features/chat/components/chat-notice';
import { Composer } from '@/features/chat/components/composer';
import { ConversationSidebar } from '@/features/chat/components/conversation-sidebar';
import { CostHint, CostWarning } from '@/features/chat/components/cost-preview';
import type { MessageActions } from '@/features/chat/components/message-item';
import { MessageList } from '@/features/chat/components/message-list';
import { ModelPicker } from '@/features/chat/components/model-picker';
import { SocketStatus } from '@/features/chat/components/socket-status';
import { sendFrame, useChatSocket } from '@/features/chat/hooks/use-chat-socket';
import { useNextMessageCost } from '@/features/chat/hooks/use-next-message-cost';
import { useChatStore } from '@/features/chat/stores/chat-store';
import { isGenerating } from '@/features/chat/types/chat';
import type { ChatModel, Message } from '@/features/chat/types/chat';
import { parentKey, visiblePath } from '@/features/chat/utils/branches';
import type { PathStep } from '@/features/chat/utils/branches';
import type { PromptTurnInput } from '@/features/chat/utils/worst-case-cost';
import { useMe } from '@/lib/auth';
import { ApiError, errorMessage } from '@/lib/errors';
import { isAdminRole } from '@/types/api';

const MODEL_STORAGE_KEY = 'potluck.chat.model';
const NO_CHOICES: Record<string, number> = {};

function storedModel(): string | undefined {
  try {
    return localStorage.getItem(MODEL_STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function rememberModel(id: string): void {
  try {
    localStorage.setItem(MODEL_STORAGE_KEY, id);
  } catch {
    // Private mode: the pick still holds for this page.
  }
}

/** The user's pick, else the model of the last answer shown, else the last one used, else the first. */
function chooseModel(models: ChatModel[], picked: string | undefined, path: PathStep[]): string {
  const known = (id: string | null | undefined): id is string =>
    !!id && models.some((model) => model.id === id);
  if (known(picked)) return picked;
  for (let i = path.length - 1; i >= 0; i -= 1) {
    const message = path[i]?.message;
    if (message?.role === 'assistant' && known(message.model)) return message.model;
  }
  const stored = storedModel();
  if (known(stored)) return stored;
  return models[0]?.id ?? '';
}

/** What the empty chat says: an invitation, or why nothing can be sent yet and who can fix it. */
function EmptyHint({ noModels }: { noModels: boolean }) {
  const { t } = useTranslation();
  const me = useMe();
  if (!noModels) return <p className="muted">{t('chat.empty')}</p>;
  if (!isAdminRole(me.data?.role)) return <p className="muted">{t('chat.noModels')}</p>;
  return (
    <p className="muted">
      {t('chat.noModelsAdmin')} <Link to="/models">{t('chat.enableModels')}</Link>
    </p>
  );
}

function PendingBubbles({ items }: { items: { clientId: string; content: string }[] }) {
  const { t } = useTranslation();
  if (items.length === 0) return null;
  return (
    <>
      {items.map((item) => (
        <div key={item.clientId} className="message-row">
          <article className="message message-user message-pending" aria-label={t('chat.you')}>
            <div className="message-body">
              <div className="message-plain">{item.content}</div>
            </div>
            <p className="message-meta">{t('chat.sending')}</p>
          </article>
        </div>
      ))}
    </>
  );
}

export function ChatPage({ conversationId }: { conversationId: number | null }) {
  const { t } = useTranslation();
  const socketState = useChatSocket(conversationId);
  const models = useChatModels();
  const messages = useMessages(conversationId);
  const conversations = useConversations();
  const choices = useChatStore((state) =>
    conversationId === null ? NO_CHOICES : (state.choices[conversationId] ?? NO_CHOICES),
  );
  const allPending = useChatStore((state) => state.pending);
  const choose = useChatStore((state) => state.choose);
  const addPending = useChatStore((state) => state.addPending);
  const [picked, setPicked] = useState<string>();
  const [drawerOpen, setDrawerOpen] = useState(false);

  const path = useMemo(
    () => (conversationId === null ? [] : visiblePath(messages.data ?? [], choices)),
    [conversationId, messages.data, choices],
  );
  const pending = useMemo(
    () => allPending.filter((item) => item.conversationId === conversationId),
    [allPending, conversationId],
  );
  const modelList = useMemo(() => models.data ?? [], [models.data]);
  const model = chooseModel(modelList, picked, path);
  const generatingMessage = useMemo(
    () => [...path].reverse().find((step) => isGenerating(step.message))?.message,
    [path],
  );
  const busy = generatingMessage !== undefined || pending.length > 0;
  const conversation =
    conversationId === null ? undefined : conversations.data?.find((c) => c.id === conversationId);
  const title =
    conversationId === null ? t('chat.title') : (conversation?.title ?? '') || t('chat.untitled');
  // What the server will send upstream for the next message: this branch, then the draft.
  const turns = useMemo<PromptTurnInput[]>(
    () => path.map((step) => ({ role: step.message.role, content: step.message.content })),
    [path],
  );
  const cost = useNextMessageCost(
    conversationId,
    turns,
    conversation?.system_prompt || null,
    modelList.find((item) => item.id === model),
  );

  // The handlers read the latest state through a ref, so the memoised message rows keep one
  // `actions` object and only the streaming row re-renders on every delta.
  const latest = useRef({ path, model, conversationId });
  useEffect(() => {
    latest.current = { path, model, conversationId };
  });

  const send = useCallback(
    (content: string, parentId: number | null | undefined): boolean => {
      const { model: current, conversationId: convId } = latest.current;
      if (!current) return false;
      const clientId = newClientId();
      const frame: MessageSendFrame = {
        type: 'message.send',
        conversation_id: convId,
        model: current,
        content,
        client_id: clientId,
      };
      // An explicit parent follows the branch on screen, not merely the newest message.
      if (convId !== null && parentId !== undefined) frame.parent_id = parentId;
      addPending({ clientId, conversationId: convId, parentId, content });
      rememberModel(current);
      sendFrame(frame);
      return true;
    },
    [addPending],
  );

  const actions = useMemo<MessageActions>(
    () => ({
      onSelectSibling: (message: Message, index: number) => {
        const { path: steps, conversationId: convId } = latest.current;
        const step = steps.find((item) => item.message.id === message.id);
        const target = step?.siblings[index];
        if (convId !== null && target) choose(convId, parentKey(message.parent_id), target.id);
      },
      onRegenerate: (message: Message) =>
        sendFrame({ type: 'message.regenerate', message_id: message.id }),
      onEdit: (message: Message, content: string) => {
        send(content, message.parent_id);
      },
    }),
    [choose, send],
  );

  const onComposerSend = (content: string): boolean => {
    const last = path.at(-1)?.message;
    return send(content, conversationId === null ? undefined : (last?.id ?? null));
  };
  const onStop = (): void => {
    if (generatingMessage) sendFrame({ type: 'generation.stop', message_id: generatingMessage.id });
  };

  let body: ReactNode;
  if (conversationId !== null && messages.isPending) {
    body = <Spinner label={t('app.loading')} />;
  } else if (conversationId !== null && messages.isError) {
    body = (
      <div className="chat-empty">
        <Alert>
          {messages.error instanceof ApiError && messages.error.status === 404
            ? t('chat.notFound')
            : errorMessage(messages.error)}
        </Alert>
      </div>
    );
  } else {
    body = (
      <MessageList
        conversationKey={String(conversationId)}
        path={path}
        busy={busy}
        actions={actions}
        footer={pending.length > 0 ? <PendingBubbles items={pending} /> : undefined}
        empty={
          <div className="chat-empty">
            <h2>{t('chat.emptyTitle')}</h2>
            <EmptyHint noModels={models.data?.length === 0} />
          </div>
        }
      />
    );
  }

  return (
    <div className="chat-layout">
      <ConversationSidebar
        currentId={conversationId}
        open={drawerOpen}
        onClose={() => setDrawerOpen(false)}
      />
      {drawerOpen ? (
        <div className="chat-backdrop" aria-hidden="true" onClick={() => setDrawerOpen(false)} />
      ) : null}
      <section className="chat-main" aria-label={t('chat.title')}>
        <header className="chat-toolbar">
          <button
            type="button"
            className="icon-button chat-drawer-toggle"
            aria-label={t('chat.openConversations')}
            title={t('chat.openConversations')}
            aria-expanded={drawerOpen}
            aria-controls="chat-sidebar"
            onClick={() => setDrawerOpen(true)}
          >
            <IconGlyph name="chats" />
          </button>
          <h1 className="chat-title">{title}</h1>
          <ModelPicker models={modelList} value={model} onChange={setPicked} />
          <BudgetMeter />
          <SocketStatus state={socketState} />
        </header>
        {body}
        <BudgetWarningBanner />
        <ChatNotice />
        <CostWarning cost={cost} />
        <Composer
          conversationId={conversationId}
          disabled={!model || socketState === 'closed'}
          generating={generatingMessage !== undefined}
          onSend={onComposerSend}
          onStop={onStop}
          hint={<CostHint cost={cost} />}
        />
      </section>
    </div>
  );
}
