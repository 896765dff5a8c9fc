import { Alert } from '@codegouvfr/react-dsfr/Alert';
import type { Me } from '../types';

export function NoRole({ me }: { me: Me }) {
  return (
    <>
      <h1>Bonjour {me.displayName}</h1>
      <Alert
        severity="info"
        title="Aucun rôle ne vous est attribué"
        description="Votre compte n’a encore aucun rôle dans ce service. Contactez l’administrateur national ou la direction du numérique de votre ministère."
      />
    </>
  );
}
