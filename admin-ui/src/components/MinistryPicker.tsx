import { Select } from '@codegouvfr/react-dsfr/Select';

/** Shown only when the user acts for several ministries. */
export function MinistryPicker({
  codes,
  value,
  onChange,
  names,
}: {
  codes: string[];
  value: string;
  onChange: (code: string) => void;
  names?: Record<string, string>;
}) {
  if (codes.length < 2) return null;
  return (
    <Select
      className="fr-mb-3w"
      label="Ministère"
      nativeSelectProps={{ value, onChange: (e) => onChange(e.target.value) }}
    >
      {codes.map((c) => (
        <option key={c} value={c}>
          {names?.[c] ?? c}
        </option>
      ))}
    </Select>
  );
}
