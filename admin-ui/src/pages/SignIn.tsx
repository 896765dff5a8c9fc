import { Button } from '@codegouvfr/react-dsfr/Button';
import { loginUrl } from '../api';

export function SignIn() {
  return (
    <div className="fr-grid-row fr-grid-row--center">
      <div className="fr-col-12 fr-col-md-8 fr-col-lg-6">
        <h1>Connexion</h1>
        <p>
          Connectez-vous avec votre compte professionnel pour consulter la politique applicative de vos téléphones,
          demander une dérogation ou administrer celles de votre ministère.
        </p>
        <Button iconId="fr-icon-lock-line" linkProps={{ href: loginUrl() }}>
          Se connecter
        </Button>
      </div>
    </div>
  );
}
