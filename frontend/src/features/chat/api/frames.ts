import { z } from 'zod';

import { conversationSchema, messageSchema } from '@/features/chat/types/chat';

/**
 * Inbound WebSocket frames (CONTRACT "WebSocket chat", mirroring chat/events.py). Each frame is
 * validated by zod; anything unknown or malformed becomes `undefined` and is ignored, so a newer
 * server can add frame types without breaking an older tab.
 */
const clientId = z.string().optional();
const money = z.string();

const frameSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('conversation.created'),
    conversation: conversationSchema,
    client_id: clientId,
  }),
  z.object({ type: z.literal('conversation.updated'), conversation: conversationSchema }),
  z.object({ type: z.literal('conversation.deleted'), conversation_id: z.number() }),
  z.object({ type: z.literal('message.created'), message: messageSchema, client_id: clientId }),
  z.object({
    type: z.literal('message.delta'),
    message_id: z.number(),
    seq: z.number().int().nonnegative(),
    text: z.string(),
  }),
  z.object({ type: z.literal('message.completed'), message: messageSchema }),
  z.object({ type: z.literal('message.failed'), message: messageSchema }),
  z.object({
    type: z.literal('budget.updated'),
    spent_usd: money,
    limit_usd: money.nullable(),
    remaining_usd: money.nullable(),
    period_end: z.string(),
  }),
  z.object({
    type: z.literal('budget.warning'),
    percent: z.number(),
    spent_usd: money,
    limit_usd: money,
    period_end: z.string(),
  }),
  z.object({
    type: z.literal('error'),
    code: z.string(),
    message: z.string(),
    detail: z.record(z.string(), z.unknown()).optional(),
    client_id: clientId,
  }),
]);

export type ChatEvent = z.infer<typeof frameSchema>;
export type ChatEventType = ChatEvent['type'];

/** Parse one raw frame (a JSON string or an already-decoded value). Pure; never throws. */
export function normalizeFrame(raw: unknown): ChatEvent | undefined {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  const parsed = frameSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** Outbound frames. `parent_id` is left out to follow the conversation's latest message. */
export type MessageSendFrame = {
  type: 'message.send';
  conversation_id: number | null;
  parent_id?: number | null;
  model: string;
  content: string;
  client_id: string;
};
export type OutboundFrame =
  | MessageSendFrame
  | { type: 'message.regenerate'; message_id: number }
  | { type: 'generation.stop'; message_id: number }
  | { type: 'conversation.subscribe'; conversation_id: number };

export function newClientId(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') {
    return crypto.randomUUID();
  }
  return `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
