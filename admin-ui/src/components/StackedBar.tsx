import type { CSSProperties } from 'react';

export interface Segment {
  label: string;
  value: number;
  /** A DSFR colour decision, e.g. var(--background-flat-success). */
  color: string;
  /** Hatched segments stay distinguishable without colour. */
  pattern?: 'hatched';
}

export const SEGMENT_COLORS = {
  converged: 'var(--background-flat-success)',
  pending: 'var(--background-flat-info)',
  failed: 'var(--background-flat-error)',
  held: 'var(--background-contrast-grey)',
  warning: 'var(--background-flat-warning)',
  neutral: 'var(--background-flat-blue-france)',
} as const;

function segmentStyle(s: Segment, total: number): CSSProperties {
  return {
    width: `${(s.value / total) * 100}%`,
    background:
      s.pattern === 'hatched'
        ? `repeating-linear-gradient(45deg, ${s.color}, ${s.color} 4px, var(--background-default-grey) 4px, var(--background-default-grey) 7px)`
        : s.color,
  };
}

/**
 * One horizontal stacked bar. The bar itself is decorative (aria-hidden); the same figures are
 * written out next to it, so nothing depends on seeing colours.
 */
export function StackedBar({ label, segments, total }: { label: string; segments: Segment[]; total?: number }) {
  const sum = total ?? segments.reduce((n, s) => n + s.value, 0);
  const text = segments.map((s) => `${s.value.toLocaleString('fr-FR')} ${s.label}`).join(', ');
  return (
    <div className="fr-mb-2w">
      <p className="fr-text--sm fr-mb-1v">
        <strong>{label}</strong> — {sum.toLocaleString('fr-FR')} au total : {text}
      </p>
      <div
        aria-hidden="true"
        style={{
          display: 'flex',
          height: '1.25rem',
          background: 'var(--background-alt-grey)',
          border: '1px solid var(--border-default-grey)',
        }}
      >
        {sum > 0 &&
          segments
            .filter((s) => s.value > 0)
            .map((s) => <div key={s.label} title={`${s.label} : ${s.value}`} style={segmentStyle(s, sum)} />)}
      </div>
    </div>
  );
}

export function Legend({ segments }: { segments: Pick<Segment, 'label' | 'color' | 'pattern'>[] }) {
  return (
    <ul
      className="fr-text--xs"
      aria-hidden="true"
      style={{ display: 'flex', gap: '1.5rem', listStyle: 'none', padding: 0, flexWrap: 'wrap' }}
    >
      {segments.map((s) => (
        <li key={s.label} style={{ display: 'flex', alignItems: 'center', gap: '.5rem' }}>
          <span
            style={{
              ...segmentStyle({ ...s, value: 1 }, 1),
              display: 'inline-block',
              width: '1rem',
              height: '1rem',
              flexShrink: 0,
            }}
          />
          {s.label}
        </li>
      ))}
    </ul>
  );
}
