import { Alert } from '@codegouvfr/react-dsfr/Alert';

/** An error from the API or the browser, in French, announced to screen readers. */
export function ErrorAlert({
  error,
  title = 'Une erreur est survenue',
  onClose,
}: {
  error: Error;
  title?: string;
  onClose?: () => void;
}) {
  return (
    <Alert
      className="fr-mb-3w"
      severity="error"
      role="alert"
      title={title}
      description={error.message}
      closable={onClose !== undefined}
      onClose={onClose}
    />
  );
}
