import { Alert } from '@codegouvfr/react-dsfr/Alert';
import { Button } from '@codegouvfr/react-dsfr/Button';
import type { Home } from '../homes';
import { ROLE_LABELS } from '../labels';
import { href } from '../router';

/** A known page this person's roles do not open: said plainly, never replaced by another page. */
export function AccessDenied({ page, home }: { page: Home; home: Home | undefined }) {
  const roles = page.roles.map((r) => ROLE_LABELS[r].toLowerCase()).join(' ou ');
  return (
    <>
      <h1>Accès refusé</h1>
      <Alert
        className="fr-mb-3w"
        severity="error"
        title={`Vous n’avez pas accès à « ${page.label} »`}
        description={`Cette page est réservée au rôle ${roles}, que votre compte n’a pas. Si vous en avez besoin, demandez-le à l’administrateur national ou à la direction du numérique de votre ministère.`}
      />
      {home && (
        <Button linkProps={{ href: href(home.id) }} iconId="fr-icon-arrow-left-line">
          Retour à « {home.label} »
        </Button>
      )}
    </>
  );
}

export function NotFound({ home }: { home: Home | undefined }) {
  return (
    <>
      <h1>Page introuvable</h1>
      <p>L’adresse demandée ne correspond à aucune page de ce service. Vérifiez le lien ou repartez de l’accueil.</p>
      <Button linkProps={{ href: home ? href(home.id) : '#/' }} iconId="fr-icon-arrow-left-line">
        {home ? `Retour à « ${home.label} »` : 'Retour à l’accueil'}
      </Button>
    </>
  );
}
