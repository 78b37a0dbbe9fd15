/**
 * Rewrites what models write into what remark-math reads, outside fenced and inline code:
 * - \( … \) becomes $ … $ and \[ … \] becomes $$ … $$;
 * - a `$$ … $$` alone on its line becomes a math block (`$$`, the body, `$$` on three lines).
 *   remark-math reads a one-line `$$ … $$` as inline math, so a displayed equation would otherwise
 *   sit at the start of a text line instead of centred on its own;
 * - a single `$` that cannot be inline math is escaped, so prices stay text: "$5 and $6" would
 *   otherwise turn " 5 and " into a formula. Pandoc's rule decides, per line: an opening `$` is
 *   followed by a non-space, its closing `$` follows a non-space and is not followed by a digit.
 */
export function normalizeMath(text: string): string {
  return text
    .split(/(```[\s\S]*?(?:```|$))/)
    .map((part, index) =>
      index % 2 === 1
        ? part
        : part
            .replace(/\\\[([\s\S]+?)\\\]/g, (_m, body: string) => `$$${body}$$`)
            .replace(/\\\(([\s\S]+?)\\\)/g, (_m, body: string) => `$${body}$`)
            .replace(
              /^([ \t]*)\$\$([^\n]+?)\$\$[ \t]*$/gm,
              (line, indent: string, body: string) =>
                body.includes('$$') || !body.trim()
                  ? line
                  : `${indent}$$\n${indent}${body.trim()}\n${indent}$$`,
            )
            .split('\n')
            .map(escapeLoneDollars)
            .join('\n'),
    )
    .join('');
}

/** Positions of the single `$` of a line outside inline code, `$$` and backslash escapes. */
function singleDollars(line: string): number[] {
  const found: number[] = [];
  let i = 0;
  while (i < line.length) {
    const char = line[i];
    if (char === '\\') {
      i += 2;
    } else if (char === '`') {
      const ticks = /^`+/.exec(line.slice(i))?.[0] ?? '`';
      const end = line.indexOf(ticks, i + ticks.length);
      i = end === -1 ? i + ticks.length : end + ticks.length;
    } else if (char === '$' && line[i + 1] === '$') {
      const end = line.indexOf('$$', i + 2);
      i = end === -1 ? i + 2 : end + 2;
    } else {
      if (char === '$') found.push(i);
      i += 1;
    }
  }
  return found;
}

const SPACE = /\s/;
const DIGIT = /[0-9]/;

function escapeLoneDollars(line: string): string {
  const dollars = singleDollars(line);
  if (dollars.length === 0) return line;
  const lone: number[] = [];
  let k = 0;
  while (k < dollars.length) {
    const open = dollars[k] as number;
    const next = line[open + 1];
    const closeAt =
      next === undefined || SPACE.test(next)
        ? -1
        : dollars.findIndex((at, j) => {
            if (j <= k) return false;
            const after = line[at + 1];
            return !SPACE.test(line[at - 1] ?? ' ') && !(after !== undefined && DIGIT.test(after));
          });
    if (closeAt === -1) {
      lone.push(open);
      k += 1;
    } else {
      k = closeAt + 1;
    }
  }
  let out = line;
  for (const at of lone.reverse()) out = `${out.slice(0, at)}\\${out.slice(at)}`;
  return out;
}
