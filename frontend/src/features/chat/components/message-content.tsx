import { lazy, memo, Suspense } from 'react';

const Markdown = lazy(() => import('@/features/chat/components/markdown'));

/** Plain text until the Markdown chunk has loaded (it is only fetched once per page load). */
export const MessageContent = memo(function MessageContent({
  text,
  markdown,
}: {
  text: string;
  markdown: boolean;
}) {
  if (!markdown) return <div className="message-plain">{text}</div>;
  return (
    <Suspense fallback={<div className="message-plain">{text}</div>}>
      <Markdown text={text} />
    </Suspense>
  );
});
