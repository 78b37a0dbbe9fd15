import { describe, expect, it } from 'vitest';

import { normalizeMath } from '@/features/chat/utils/normalize-math';

describe('normalizeMath', () => {
  it.each([
    ['keeps text without math', 'Hello world', 'Hello world'],
    ['keeps prices as text', 'It costs $5 and $6.50', 'It costs \\$5 and \\$6.50'],
    ['keeps a price range as text', 'from $5-$10 a month', 'from \\$5-\\$10 a month'],
    ['keeps a price table header as text', '| In $/Mtok | Out $/Mtok |', '| In \\$/Mtok | Out \\$/Mtok |'],
    ['keeps inline math', 'so $x^2$ and $y$ grow', 'so $x^2$ and $y$ grow'],
    ['keeps a lone dollar inside inline code', 'run `echo $HOME` now', 'run `echo $HOME` now'],
    ['keeps an escaped dollar', 'pay \\$5', 'pay \\$5'],
    ['turns \\( \\) into inline dollars', 'so \\(x^2\\) grows', 'so $x^2$ grows'],
    ['keeps a one-line $$ $$ inside a sentence inline', 'where $$x$$ is', 'where $$x$$ is'],
    ['makes a one-line $$ $$ on its own line a block', 'Euler:\n$$e^{i\\pi}+1=0$$\nso', 'Euler:\n$$\ne^{i\\pi}+1=0\n$$\nso'],
    ['makes a one-line \\[ \\] on its own line a block', '\\[ a+b \\]', '$$\na+b\n$$'],
    ['keeps the indent of a block inside a list', '1. x\n   $$y$$', '1. x\n   $$\n   y\n   $$'],
    ['leaves a multi-line block alone', '$$\nx\n$$', '$$\nx\n$$'],
    ['leaves two formulas on one line inline', '$$a$$ and $$b$$', '$$a$$ and $$b$$'],
    ['leaves fenced code alone', '```\n\\(x\\)\n$$y$$\n```', '```\n\\(x\\)\n$$y$$\n```'],
  ])('%s', (_name, input, expected) => {
    expect(normalizeMath(input)).toBe(expected);
  });
});
