import { useState } from 'react';

import { Button } from '@/components/ui/button';
import type { ButtonProps } from '@/components/ui/button';

/** Copies text; falls back to selecting a hidden textarea where the Clipboard API is missing. */
async function copyText(text: string): Promise<void> {
  if (navigator.clipboard?.writeText) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'absolute';
  area.style.left = '-9999px';
  document.body.appendChild(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}

export function CopyButton({
  text,
  label,
  copiedLabel,
  variant = 'secondary',
}: {
  text: string;
  label: string;
  copiedLabel: string;
  variant?: ButtonProps['variant'];
}) {
  const [copied, setCopied] = useState(false);
  return (
    <Button
      variant={variant}
      size="sm"
      onClick={() => {
        copyText(text).then(
          () => setCopied(true),
          () => setCopied(false),
        );
      }}
    >
      {label}
      <span className="visually-hidden" aria-live="polite">
        {copied ? ` ${copiedLabel}` : ''}
      </span>
      {copied ? <span aria-hidden="true"> ✓</span> : null}
    </Button>
  );
}
