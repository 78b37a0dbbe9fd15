import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { ReactNode, RefObject } from 'react';
import { useTranslation } from 'react-i18next';

import { MessageItem } from '@/features/chat/components/message-item';
import type { MessageActions } from '@/features/chat/components/message-item';
import type { PathStep } from '@/features/chat/utils/branches';

/** Past this many visible messages only the ones on screen are mounted. */
export const VIRTUALIZE_AFTER = 120;
const BOTTOM_SLACK_PX = 48;

/**
 * Follows the bottom while the user is there; scrolling up stops it and shows "Jump to latest".
 * Growth of the content (a streaming answer, a new message) is noticed with a ResizeObserver,
 * so no per-delta render of the list is needed.
 */
function useStickToBottom(scrollRef: RefObject<HTMLDivElement | null>, contentRef: RefObject<HTMLDivElement | null>) {
  const stick = useRef(true);
  const [atBottom, setAtBottom] = useState(true);

  const scrollToBottom = useCallback(() => {
    const el = scrollRef.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    stick.current = true;
    setAtBottom(true);
  }, [scrollRef]);

  const onScroll = useCallback(() => {
    const el = scrollRef.current;
    if (!el) return;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK_PX;
    stick.current = bottom;
    setAtBottom(bottom);
  }, [scrollRef]);

  useEffect(() => {
    const content = contentRef.current;
    if (!content || typeof ResizeObserver === 'undefined') return undefined;
    const observer = new ResizeObserver(() => {
      if (stick.current && scrollRef.current) scrollRef.current.scrollTop = scrollRef.current.scrollHeight;
    });
    observer.observe(content);
    return () => observer.disconnect();
  }, [contentRef, scrollRef]);

  return { atBottom, onScroll, scrollToBottom, stick };
}

function PlainRows({ path, render }: { path: PathStep[]; render: (step: PathStep) => ReactNode }) {
  return <>{path.map((step) => <div key={step.message.id} className="message-row">{render(step)}</div>)}</>;
}

function VirtualRows({
  path,
  render,
  scrollElement,
}: {
  path: PathStep[];
  render: (step: PathStep) => ReactNode;
  scrollElement: HTMLDivElement;
}) {
  // The virtualizer is mutable by design; this component re-renders with it on every scroll.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: path.length,
    getScrollElement: () => scrollElement,
    estimateSize: () => 160,
    overscan: 6,
    getItemKey: (index) => path[index]?.message.id ?? index,
  });
  const first = useRef(true);
  useLayoutEffect(() => {
    if (first.current && path.length > 0) {
      first.current = false;
      virtualizer.scrollToIndex(path.length - 1, { align: 'end' });
    }
  }, [path.length, virtualizer]);
  const items = virtualizer.getVirtualItems();
  return (
    <div className="virtual-rows" style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
      {items.map((item) => {
        const step = path[item.index];
        if (!step) return null;
        return (
          <div
            key={item.key}
            data-index={item.index}
            ref={virtualizer.measureElement}
            className="message-row"
            style={{ position: 'absolute', top: 0, left: 0, right: 0, transform: `translateY(${item.start}px)` }}
          >
            {render(step)}
          </div>
        );
      })}
    </div>
  );
}

export function MessageList({
  conversationKey,
  path,
  busy,
  actions,
  footer,
  empty,
}: {
  /** Changes when another conversation is shown: the view jumps to its end. */
  conversationKey: string;
  path: PathStep[];
  busy: boolean;
  actions: MessageActions;
  footer?: ReactNode;
  empty?: ReactNode;
}) {
  const { t } = useTranslation();
  const scrollRef = useRef<HTMLDivElement>(null);
  // Also kept in state: the virtualizer needs the element on a render after it is attached.
  const [scrollElement, setScrollElement] = useState<HTMLDivElement | null>(null);
  const attachScroll = useCallback((el: HTMLDivElement | null) => {
    scrollRef.current = el;
    setScrollElement(el);
  }, []);
  const contentRef = useRef<HTMLDivElement>(null);
  const { atBottom, onScroll, scrollToBottom } = useStickToBottom(scrollRef, contentRef);

  useLayoutEffect(() => {
    scrollToBottom();
  }, [conversationKey, scrollToBottom]);

  const render = useCallback(
    (step: PathStep) => (
      <MessageItem
        message={step.message}
        index={step.index}
        siblingCount={step.siblings.length}
        busy={busy}
        actions={actions}
      />
    ),
    [busy, actions],
  );

  return (
    <div className="message-scroll-wrap">
      <div
        className="message-scroll"
        ref={attachScroll}
        onScroll={onScroll}
        role="log"
        aria-label={t('chat.messages')}
        aria-live="off"
      >
        <div className="message-column" ref={contentRef}>
          {path.length === 0 && !footer ? empty : null}
          {path.length > VIRTUALIZE_AFTER && scrollElement ? (
            <VirtualRows
              key={conversationKey}
              path={path}
              render={render}
              scrollElement={scrollElement}
            />
          ) : (
            <PlainRows path={path} render={render} />
          )}
          {footer}
        </div>
      </div>
      {!atBottom ? (
        <button type="button" className="btn btn-secondary btn-sm jump-latest" onClick={scrollToBottom}>
          {t('chat.jumpToLatest')} ↓
        </button>
      ) : null}
    </div>
  );
}
