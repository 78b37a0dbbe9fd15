/**
 * The worst-case cost of the next message, computed exactly as the server's admission gate does
 * (billing/pricing.py `prompt_tokens_upper_bound`, `worst_case_cost`, `max_tokens_that_fit`;
 * chat/services.py `_prompt_turns`; billing/gate.py for the max_tokens cap). Pure, table-tested
 * against values printed by the Python functions.
 *
 * Money never becomes a float: prices are parsed exactly by utils/decimal.ts and every result is
 * an integer number of nano-dollars (1 USD = 1e9 nUSD, the server's 9-place quantum).
 */

import type { Decimal } from '@/utils/decimal';
import { divCeil, NANO, parseDecimal, pow10 } from '@/utils/decimal';

/** Tokens the server adds per message (and for the system prompt) and once per request. */
export const MESSAGE_OVERHEAD_TOKENS = 8;
export const REQUEST_OVERHEAD_TOKENS = 8;
/** billing/gate.py: a hard budget refuses when fewer than min(64, max_tokens) output tokens fit. */
export const MIN_ANSWER_TOKENS = 64n;
export const UNLIMITED_TOKENS = 2n ** 63n - 1n;

const MTOK = 1_000_000n;

/** Python `str.isspace` characters: what `str.strip()` removes (JS `trim` differs slightly). */
const PY_SPACE =
  '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const BLANK = new RegExp(`^[${PY_SPACE}]*$`);

const encoder = new TextEncoder();

/**
 * UTF-8 byte length. A lone surrogate is 3 bytes both here (TextEncoder writes U+FFFD) and on the
 * server (`surrogatepass`).
 */
export const utf8Length = (text: string): number => encoder.encode(text).length;

export type PromptTurnInput = { role: 'user' | 'assistant'; content: string };

/**
 * chat/services.py `_prompt_turns`: the texts the provider receives for a branch. Blank messages
 * (an answer that failed before any output) are dropped and consecutive turns of one role merged
 * with a blank line.
 */
export function promptTexts(turns: readonly PromptTurnInput[]): string[] {
  const merged: PromptTurnInput[] = [];
  for (const turn of turns) {
    if (BLANK.test(turn.content)) continue;
    const last = merged.at(-1);
    if (last && last.role === turn.role) {
      merged[merged.length - 1] = { role: last.role, content: `${last.content}\n\n${turn.content}` };
    } else {
      merged.push(turn);
    }
  }
  return merged.map((turn) => turn.content);
}

/** billing/pricing.py `prompt_tokens_upper_bound`; an empty system prompt counts as none. */
export function promptTokensUpperBound(messages: readonly string[], system: string | null): number {
  const texts = system ? [...messages, system] : messages;
  let total = REQUEST_OVERHEAD_TOKENS;
  for (const text of texts) total += utf8Length(text) + MESSAGE_OVERHEAD_TOKENS;
  return total;
}

/** USD per million tokens, as the models API sends them (decimal strings; null = "the input price"). */
export type PriceStrings = {
  input_usd_per_mtok?: string | null;
  output_usd_per_mtok?: string | null;
  cached_input_usd_per_mtok?: string | null;
  cache_write_usd_per_mtok?: string | null;
};

type Prices = { maxInputSide: Decimal; output: Decimal };

function pricesOf(model: PriceStrings): Prices | undefined {
  if (!model.input_usd_per_mtok || !model.output_usd_per_mtok) return undefined;
  const input = parseDecimal(model.input_usd_per_mtok);
  const output = parseDecimal(model.output_usd_per_mtok);
  if (!input || !output || input.digits < 0n || output.digits < 0n) return undefined;
  let maxInputSide = input;
  for (const raw of [model.cached_input_usd_per_mtok, model.cache_write_usd_per_mtok]) {
    const price = raw ? parseDecimal(raw) : undefined;
    if (price && compare(price, maxInputSide) > 0) maxInputSide = price;
  }
  return { maxInputSide, output };
}

function compare(a: Decimal, b: Decimal): number {
  const scale = Math.max(a.scale, b.scale);
  const x = a.digits * pow10(scale - a.scale);
  const y = b.digits * pow10(scale - b.scale);
  return x === y ? 0 : x < y ? -1 : 1;
}

/**
 * billing/pricing.py `worst_case_cost` in nUSD: every prompt token at the dearest input-side
 * price plus max_tokens of output, per million tokens, rounded UP to the nano-dollar.
 * undefined when the model has no price.
 */
export function worstCaseCostNusd(
  promptTokensUpper: number,
  maxTokens: number,
  model: PriceStrings,
): bigint | undefined {
  const prices = pricesOf(model);
  if (!prices || promptTokensUpper < 0 || maxTokens < 0) return undefined;
  const scale = Math.max(prices.maxInputSide.scale, prices.output.scale);
  const input = prices.maxInputSide.digits * pow10(scale - prices.maxInputSide.scale);
  const output = prices.output.digits * pow10(scale - prices.output.scale);
  // (P·in + M·out) / 10^scale / 1e6 USD = (P·in + M·out)·1e9 / (10^scale·1e6) nUSD.
  const numerator = (BigInt(promptTokensUpper) * input + BigInt(maxTokens) * output) * NANO;
  return divCeil(numerator, pow10(scale) * MTOK);
}

/**
 * billing/pricing.py `max_tokens_that_fit`: the most output tokens whose worst case stays within
 * `remainingNusd`. 0n when not even the prompt fits; UNLIMITED_TOKENS when output is free.
 */
export function maxTokensThatFit(
  remainingNusd: bigint,
  promptTokensUpper: number,
  model: PriceStrings,
): bigint | undefined {
  const prices = pricesOf(model);
  if (!prices) return undefined;
  const scale = Math.max(prices.maxInputSide.scale, prices.output.scale);
  const input = prices.maxInputSide.digits * pow10(scale - prices.maxInputSide.scale);
  const output = prices.output.digits * pow10(scale - prices.output.scale);
  // Everything in units of 1e-9 USD · 10^-scale / 1e6, so no step divides.
  const unit = pow10(scale) * MTOK;
  const left = remainingNusd * unit - BigInt(promptTokensUpper) * input * NANO;
  if (left < 0n) return 0n;
  if (output === 0n) return UNLIMITED_TOKENS;
  const fit = left / (output * NANO);
  return fit < UNLIMITED_TOKENS ? fit : UNLIMITED_TOKENS;
}

/** chat/services.py + billing/gate.py: the org default, capped by the model's max_output_tokens. */
export function effectiveMaxTokens(defaultMaxTokens: number, maxOutputTokens?: number | null): number {
  return maxOutputTokens ? Math.min(defaultMaxTokens, maxOutputTokens) : defaultMaxTokens;
}

export type BudgetOutcome =
  /** No limit, or the worst case fits what remains. */
  | { kind: 'fits' }
  /** A hard budget would lower max_tokens to `maxTokens`. */
  | { kind: 'shortened'; maxTokens: bigint }
  /** A hard budget would refuse (budget_exceeded) without calling the provider. */
  | { kind: 'refused' };

/** What the gate would do with this message under a hard budget with `remainingNusd` left. */
export function budgetOutcome(
  remainingNusd: bigint | null,
  promptTokensUpper: number,
  maxTokens: number,
  model: PriceStrings,
): BudgetOutcome {
  if (remainingNusd === null) return { kind: 'fits' };
  const worst = worstCaseCostNusd(promptTokensUpper, maxTokens, model);
  if (worst === undefined || worst <= remainingNusd) return { kind: 'fits' };
  const fit = remainingNusd < 0n ? 0n : maxTokensThatFit(remainingNusd, promptTokensUpper, model);
  if (fit === undefined) return { kind: 'fits' };
  const minTokens = BigInt(maxTokens) < MIN_ANSWER_TOKENS ? BigInt(maxTokens) : MIN_ANSWER_TOKENS;
  if (fit < minTokens) return { kind: 'refused' };
  return { kind: 'shortened', maxTokens: fit < BigInt(maxTokens) ? fit : BigInt(maxTokens) };
}

/** A branch's prompt bound without the next message, so typing only re-measures the draft. */
export type BranchPrompt = { tokens: number; lastRole: PromptTurnInput['role'] | undefined };

export function branchPrompt(turns: readonly PromptTurnInput[], system: string | null): BranchPrompt {
  const texts = promptTexts(turns);
  let lastRole: BranchPrompt['lastRole'];
  for (const turn of turns) if (!BLANK.test(turn.content)) lastRole = turn.role;
  return { tokens: promptTokensUpperBound(texts, system), lastRole };
}

/**
 * The bound once the user message `content` is added to the branch. A branch ending in a user
 * turn (its answer failed before any output) gets the draft merged into that turn, as the server
 * does: a blank line instead of a message's overhead.
 */
export function withNextMessage(branch: BranchPrompt, content: string): number {
  if (BLANK.test(content)) return branch.tokens;
  const joint = branch.lastRole === 'user' ? 2 : MESSAGE_OVERHEAD_TOKENS;
  return branch.tokens + utf8Length(content) + joint;
}
