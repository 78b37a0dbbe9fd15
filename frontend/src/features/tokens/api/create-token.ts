import { useMutation, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';

import { apiTokenSchema, getTokensQueryOptions } from '@/features/tokens/api/get-tokens';
import { api } from '@/lib/api-client';

export const createdTokenSchema = apiTokenSchema.extend({ token: z.string() });
export type CreatedToken = z.infer<typeof createdTokenSchema>;

export type CreateTokenInput = {
  name: string;
  expires_at?: string;
  max_budget_usd?: string;
  models?: string[];
};

export const createToken = (input: CreateTokenInput): Promise<CreatedToken> =>
  api.post('/api/tokens/', input, createdTokenSchema);

export function useCreateToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createToken,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: getTokensQueryOptions().queryKey }),
  });
}
