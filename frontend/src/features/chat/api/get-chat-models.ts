import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { chatModelSchema } from '@/features/chat/types/chat';
import type { ChatModel } from '@/features/chat/types/chat';
import { api } from '@/lib/api-client';

/** The models this user may chat with (CONTRACT "Models"); under ['models'] so admin edits refresh it. */
export const getChatModels = (): Promise<ChatModel[]> =>
  api.get('/api/models/', z.array(chatModelSchema));

export const getChatModelsQueryOptions = () =>
  queryOptions({ queryKey: ['models', 'chat'], queryFn: getChatModels });

export const useChatModels = () => useQuery(getChatModelsQueryOptions());
