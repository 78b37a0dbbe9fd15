import { useParams } from 'react-router';

import { ChatPage } from '@/features/chat/components/chat-page';

/** /chat is a new conversation; /chat/<id> shows one. */
export function ChatRoute() {
  const rest = useParams()['*'] ?? '';
  const id = /^\d+/.exec(rest)?.[0];
  return <ChatPage conversationId={id ? Number(id) : null} />;
}
