import { Button } from '@codegouvfr/react-dsfr/Button';
import { useState } from 'react';

/** A destructive action asks for a second click, inline (no modal to trap focus). */
export function ConfirmButton({
  label,
  confirmLabel,
  onConfirm,
  disabled,
}: {
  label: string;
  confirmLabel: string;
  onConfirm: () => void;
  disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <Button size="small" priority="secondary" disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </Button>
    );
  }
  return (
    <span style={{ display: 'inline-flex', gap: '.5rem' }}>
      <Button
        size="small"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </Button>
      <Button size="small" priority="tertiary" onClick={() => setAsking(false)}>
        Ne rien faire
      </Button>
    </span>
  );
}
