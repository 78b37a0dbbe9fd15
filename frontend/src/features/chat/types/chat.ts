import { z } from 'zod';

import { moneySchema } from '@/types/api';

/** CONTRACT "Conversations and messages": the shapes REST answers and frames carry. */
export const conversationSchema = z.object({
  id: z.number(),
  title: z.string(),
  model: z.string().nullable().optional(),
  system_prompt: z.string().nullable().optional(),
  created_at: z.string(),
  updated_at: z.string(),
  archived: z.boolean(),
});
export type Conversation = z.infer<typeof conversationSchema>;

export const messageStatusSchema = z.enum(['pending', 'streaming', 'complete', 'stopped', 'failed']);
export type MessageStatus = z.infer<typeof messageStatusSchema>;

export const usageSchema = z.object({
  input_tokens: z.number(),
  output_tokens: z.number(),
  cached_input_tokens: z.number().optional(),
  reasoning_tokens: z.number().optional(),
});
export type Usage = z.infer<typeof usageSchema>;

export const messageErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  // A refusal's structured detail (budget_exceeded: which budget, amounts, reset); else absent.
  detail: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type MessageError = z.infer<typeof messageErrorSchema>;

export const messageSchema = z.object({
  id: z.number(),
  conversation_id: z.number(),
  parent_id: z.number().nullable(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  model: z.string().nullable().optional(),
  status: messageStatusSchema,
  error: messageErrorSchema.nullable().optional(),
  usage: usageSchema.nullable().optional(),
  cost_usd: moneySchema.nullable().optional(),
  created_at: z.string(),
});
export type Message = z.infer<typeof messageSchema>;

export const chatModelSchema = z.object({
  id: z.string(),
  provider: z.union([z.string(), z.number()]).nullable().optional(),
  name: z.string(),
  input_usd_per_mtok: moneySchema.nullable().optional(),
  output_usd_per_mtok: moneySchema.nullable().optional(),
  cached_input_usd_per_mtok: moneySchema.nullable().optional(),
  // Beyond the contract's list, the models API also sends these; the cost preview uses them.
  cache_write_usd_per_mtok: moneySchema.nullable().optional(),
  max_output_tokens: z.number().int().positive().nullable().optional(),
  enabled: z.boolean().optional(),
});
export type ChatModel = z.infer<typeof chatModelSchema>;

export const isGenerating = (message: Message): boolean =>
  message.status === 'pending' || message.status === 'streaming';
