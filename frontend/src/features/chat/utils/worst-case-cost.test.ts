import {
  branchPrompt,
  budgetOutcome,
  effectiveMaxTokens,
  maxTokensThatFit,
  promptTexts,
  promptTokensUpperBound,
  UNLIMITED_TOKENS,
  withNextMessage,
  worstCaseCostNusd,
} from '@/features/chat/utils/worst-case-cost';
import type { PriceStrings, PromptTurnInput } from '@/features/chat/utils/worst-case-cost';
import { fromNanos, toNanos } from '@/utils/decimal';

/**
 * Every expected value below was printed by the server's own functions (billing/pricing.py
 * `prompt_tokens_upper_bound`, `worst_case_cost`, `max_tokens_that_fit`; chat/services.py
 * `_prompt_turns`) with `.venv/bin/python`, then hard-coded here.
 */
const prices = (
  input: string,
  output: string,
  cached: string | null = null,
  write: string | null = null,
): PriceStrings => ({
  input_usd_per_mtok: input,
  output_usd_per_mtok: output,
  cached_input_usd_per_mtok: cached,
  cache_write_usd_per_mtok: write,
});

describe('worstCaseCostNusd matches billing.pricing.worst_case_cost', () => {
  it.each<[string, string[], string | null, number, number, PriceStrings, string]>([
    ['one short message', ['Hello'], null, 21, 4096, prices('0.15', '0.6', '0.075'), '0.002460750'],
    [
      'multibyte text and a system prompt',
      ['Hello', 'Hi there!', '¿Qué tal? ünïcødé 🍲'],
      'You are terse.',
      96,
      4096,
      prices('2.5', '10', '1.25'),
      '0.041200000',
    ],
    [
      'a cache write dearer than input',
      ['a'.repeat(1000)],
      null,
      1016,
      16384,
      prices('3', '15', '0.3', '3.75'),
      '0.249570000',
    ],
    ['a fraction of a nano-dollar rounds up', ['x'], null, 17, 1, prices('0.000001', '0.000001'), '0.000000001'],
    ['a free model', ['x'], null, 17, 4096, prices('0', '0'), '0.000000000'],
    [
      'nine-place prices',
      ['short'],
      null,
      21,
      100_000,
      prices('1234.123456789', '9876.987654321', null, '1500'),
      '987.730265433',
    ],
    ['tiny', ['hi'], null, 18, 7, prices('0.1', '0.3'), '0.000003900'],
    ['CJK', ['漢字'], null, 22, 333, prices('0.123456789', '0.987654321'), '0.000331605'],
    ['a lone surrogate is 3 bytes', ['\ud800'], null, 19, 1, prices('1', '1'), '0.000020000'],
  ])('%s', (_name, messages, system, upper, maxTokens, model, expected) => {
    expect(promptTokensUpperBound(messages, system)).toBe(upper);
    const cost = worstCaseCostNusd(upper, maxTokens, model);
    expect(cost).toBeDefined();
    expect(fromNanos(cost!)).toBe(expected);
  });

  it('has no answer for a model without prices', () => {
    expect(worstCaseCostNusd(10, 10, { input_usd_per_mtok: null, output_usd_per_mtok: '1' })).toBeUndefined();
  });
});

describe('maxTokensThatFit matches billing.pricing.max_tokens_that_fit', () => {
  it.each<[string, number, PriceStrings, bigint]>([
    ['0.01', 20, prices('0.15', '0.6'), 16661n],
    ['0.000001', 20, prices('0.15', '0.6'), 0n],
    ['1', 100, prices('2.5', '10'), 99975n],
    ['0.000012345', 13, prices('0.1', '0.3'), 36n],
    ['5', 10, prices('1', '0'), UNLIMITED_TOKENS],
    ['0.002', 21, prices('0.15', '0.6', '0.075', '0.3'), 3322n],
  ])('%s USD left, %i prompt tokens', (remaining, upper, model, expected) => {
    expect(maxTokensThatFit(toNanos(remaining)!, upper, model)).toBe(expected);
  });
});

describe('promptTexts and branch bounds match chat.services._prompt_turns', () => {
  const u = (content: string): PromptTurnInput => ({ role: 'user', content });
  const a = (content: string): PromptTurnInput => ({ role: 'assistant', content });
  it.each<[string, PromptTurnInput[], string | null, string[], number]>([
    ['a failed answer merges the questions', [u('Q1'), a(''), u('Q2')], null, ['Q1\n\nQ2'], 22],
    ['a plain branch with a system prompt', [u('Q1'), a('A1'), u('Q2')], 'Be brief', ['Q1', 'A1', 'Q2'], 54],
    [
      'Python whitespace (\\x1c too) is blank',
      [u('Q1'), a(' \n\t'), a('A1'), u('\x1c'), u('Q2')],
      null,
      ['Q1', 'A1', 'Q2'],
      38,
    ],
    ['a BOM is not whitespace in Python', [u('\ufeff')], null, ['\ufeff'], 19],
  ])('%s', (_name, turns, system, texts, upper) => {
    expect(promptTexts(turns)).toEqual(texts);
    expect(promptTokensUpperBound(promptTexts(turns), system)).toBe(upper);
  });

  it.each<[string, PromptTurnInput[], string | null, string]>([
    ['a new conversation', [], null, 'Hello'],
    ['after an answer', [u('Q1'), a('A1')], 'Sys', 'Q2 ✨'],
    ['after a failed answer (merged)', [u('Q1'), a('')], null, 'Q2'],
    ['an empty system prompt counts as none', [u('Q1'), a('A1')], '', 'Q2'],
  ])('adding the draft to %s equals measuring the whole branch', (_name, turns, system, draft) => {
    const whole = promptTokensUpperBound(promptTexts([...turns, u(draft)]), system || null);
    expect(withNextMessage(branchPrompt(turns, system || null), draft)).toBe(whole);
  });
});

describe('budget helpers', () => {
  it.each<[number, number | null | undefined, number]>([
    [4096, null, 4096],
    [4096, 1024, 1024],
    [512, 8192, 512],
  ])('max tokens: org %i capped by model %s → %i', (org, model, expected) => {
    expect(effectiveMaxTokens(org, model)).toBe(expected);
  });

  const model = prices('0.15', '0.6');
  it.each<[string, bigint | null, string]>([
    ['no limit', null, 'fits'],
    ['plenty left', toNanos('1')!, 'fits'],
    ['less than the worst case', toNanos('0.001')!, 'shortened'],
    ['not even 64 tokens', toNanos('0.00004')!, 'refused'],
    ['past a soft budget', toNanos('-0.5')!, 'refused'],
  ])('the gate with %s', (_name, remaining, kind) => {
    // 21 prompt tokens and 4096 max: worst case $0.002460750 (see the first table).
    expect(budgetOutcome(remaining, 21, 4096, model).kind).toBe(kind);
  });

  it('lowers max_tokens to what fits, like the gate', () => {
    // max_tokens_that_fit(Decimal('0.001'), 21, 0.15/0.6) printed 1661.
    expect(budgetOutcome(toNanos('0.001')!, 21, 4096, model)).toEqual({
      kind: 'shortened',
      maxTokens: 1661n,
    });
  });
});
