import { useState } from 'react';
import type { ReactNode } from 'react';

import { Button } from '@/components/ui/button';

/** A destructive action that asks inline instead of window.confirm (testable by role). */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  cancelLabel,
  onConfirm,
  loading,
}: {
  label: string;
  question: ReactNode;
  confirmLabel: string;
  cancelLabel: string;
  onConfirm: () => void;
  loading?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <Button variant="danger" size="sm" onClick={() => setAsking(true)}>
        {label}
      </Button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={label}>
      <span className="confirm-question">{question}</span>
      <Button
        variant="danger"
        size="sm"
        loading={loading ?? false}
        onClick={() => {
          onConfirm();
          setAsking(false);
        }}
      >
        {confirmLabel}
      </Button>
      <Button variant="ghost" size="sm" onClick={() => setAsking(false)}>
        {cancelLabel}
      </Button>
    </span>
  );
}
