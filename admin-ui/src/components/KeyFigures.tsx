import type { ReactNode } from 'react';

export interface KeyFigure {
  label: string;
  value: string;
  /** A short explanation under the figure. */
  detail?: ReactNode;
  /** A DSFR text colour class for the figure (e.g. fr-text-default--error). */
  tone?: 'success' | 'error' | 'warning' | 'info';
}

const TONE_CLASS: Record<NonNullable<KeyFigure['tone']>, string> = {
  success: 'fr-text-default--success',
  error: 'fr-text-default--error',
  warning: 'fr-text-default--warning',
  info: 'fr-text-default--info',
};

/**
 * Headline figures as DSFR tiles: a list of label / value pairs that reads the same with a
 * screen reader as on screen (the colour only repeats what the label says).
 */
export function KeyFigures({ figures, label }: { figures: KeyFigure[]; label: string }) {
  return (
    <ul
      className="fr-grid-row fr-grid-row--gutters fr-mb-3w"
      aria-label={label}
      style={{ listStyle: 'none', padding: 0 }}
    >
      {figures.map((f) => (
        <li key={f.label} className="fr-col-12 fr-col-sm-6 fr-col-lg-4 fr-col-xl-2" style={{ paddingBottom: 0 }}>
          <div className="fr-tile fr-tile--sm" style={{ height: '100%' }}>
            <div className="fr-tile__body">
              <div className="fr-tile__content">
                <p className="fr-tile__title fr-mb-1v">
                  <span className="fr-text--sm fr-mb-0" style={{ display: 'block', fontWeight: 400 }}>
                    {f.label}
                  </span>
                  <span className={`fr-h3 fr-mb-0 ${f.tone ? TONE_CLASS[f.tone] : ''}`} style={{ display: 'block' }}>
                    {f.value}
                  </span>
                </p>
                {f.detail && <p className="fr-tile__desc fr-text--xs">{f.detail}</p>}
              </div>
            </div>
          </div>
        </li>
      ))}
    </ul>
  );
}
