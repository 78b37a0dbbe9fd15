import { useMemo } from 'react';

import { useMyBudget } from '@/features/chat/api/get-my-budget';
import { useOrgLimits } from '@/features/chat/api/get-org-limits';
import { useDraft } from '@/features/chat/stores/chat-store';
import type { ChatModel } from '@/features/chat/types/chat';
import {
  branchPrompt,
  budgetOutcome,
  effectiveMaxTokens,
  withNextMessage,
  worstCaseCostNusd,
} from '@/features/chat/utils/worst-case-cost';
import type { BudgetOutcome, PromptTurnInput } from '@/features/chat/utils/worst-case-cost';
import { toNanos } from '@/utils/decimal';

export type NextMessageCost = {
  /** The gate's reservation for the draft, in nUSD. */
  worstNusd: bigint;
  maxTokens: number;
  remainingUsd: string | null;
  outcome: BudgetOutcome;
};

/**
 * The worst case the server will reserve for the composer's draft sent on this branch, and what
 * the member's budget would make of it. undefined while the draft is blank or a price, the
 * org's max_tokens or the budget is not known yet.
 */
export function useNextMessageCost(
  conversationId: number | null,
  turns: readonly PromptTurnInput[],
  system: string | null,
  model: ChatModel | undefined,
): NextMessageCost | undefined {
  const draft = useDraft(conversationId);
  const org = useOrgLimits();
  const budget = useMyBudget();
  const branch = useMemo(() => branchPrompt(turns, system), [turns, system]);
  if (!model || !org.data || !budget.data || !draft.trim()) return undefined;
  const maxTokens = effectiveMaxTokens(org.data.default_max_tokens, model.max_output_tokens);
  const prompt = withNextMessage(branch, draft);
  const worstNusd = worstCaseCostNusd(prompt, maxTokens, model);
  if (worstNusd === undefined) return undefined;
  const remainingUsd = budget.data.remaining_usd;
  const remainingNusd = remainingUsd === null ? null : (toNanos(remainingUsd) ?? null);
  return {
    worstNusd,
    maxTokens,
    remainingUsd,
    outcome: budgetOutcome(remainingNusd, prompt, maxTokens, model),
  };
}
