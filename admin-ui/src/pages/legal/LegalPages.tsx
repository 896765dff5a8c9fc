/**
 * The pages every State website links from its footer (DSFR, mandatory): the accessibility
 * statement (RGAA, in the form of the model statement), the legal notice and personal data. They
 * are readable without signing in.
 */

export const LEGAL_ROUTES = ['accessibilite', 'mentions-legales', 'donnees-personnelles'] as const;
export type LegalRoute = (typeof LEGAL_ROUTES)[number];

export function isLegalRoute(segment: string | undefined): segment is LegalRoute {
  return LEGAL_ROUTES.includes(segment as LegalRoute);
}

export const LEGAL_TITLES: Record<LegalRoute, string> = {
  accessibilite: 'Déclaration d’accessibilité',
  'mentions-legales': 'Mentions légales',
  'donnees-personnelles': 'Données personnelles',
};

const SERVICE = 'Applications des téléphones de l’État';

function Accessibility() {
  return (
    <>
      <h1>Déclaration d’accessibilité</h1>
      <p>
        La direction interministérielle du numérique (DINUM) s’engage à rendre ses services numériques accessibles,
        conformément à l’article 47 de la loi n° 2005-102 du 11 février 2005. La présente déclaration d’accessibilité
        s’applique au service « {SERVICE} ».
      </p>
      <h2>État de conformité</h2>
      <p>
        Le service « {SERVICE} » est <strong>non conforme</strong> avec le référentiel général d’amélioration de
        l’accessibilité (RGAA) version 4.1 : aucun audit de conformité n’a encore été réalisé.
      </p>
      <h2>Résultats des tests</h2>
      <p>
        En l’absence d’audit, le service est vérifié à chaque modification par des tests automatiques (axe-core, règles
        WCAG 2.1 niveaux A et AA) sur les pages de chaque rôle, au clavier et à 390 pixels de large. Ces tests ne
        couvrent qu’une partie des critères du RGAA.
      </p>
      <h2>Contenus non accessibles</h2>
      <ul>
        <li>Les graphiques du tableau de bord ne sont accompagnés que d’un tableau de données équivalent.</li>
        <li>Le code QR d’enrôlement a pour alternative le lien d’enrôlement, affiché en texte.</li>
      </ul>
      <h2>Établissement de cette déclaration</h2>
      <p>Cette déclaration a été établie le 1er décembre 2026.</p>
      <h2>Retour d’information et contact</h2>
      <p>
        Si vous n’arrivez pas à accéder à un contenu ou à un service, contactez la direction du numérique de votre
        ministère, qui vous orientera vers une alternative accessible ou vous transmettra le contenu sous une autre
        forme.
      </p>
      <h2>Voies de recours</h2>
      <p>
        Si vous constatez un défaut d’accessibilité vous empêchant d’accéder à un contenu ou à une fonctionnalité du
        service, que vous nous le signalez et que vous ne parvenez pas à obtenir de réponse de notre part, vous êtes en
        droit de faire parvenir vos doléances ou une demande de saisine au Défenseur des droits :
      </p>
      <ul>
        <li>
          écrire un message au{' '}
          <a href="https://formulaire.defenseurdesdroits.fr/" target="_blank" rel="noopener noreferrer">
            Défenseur des droits (nouvelle fenêtre)
          </a>
          ;
        </li>
        <li>contacter le délégué du Défenseur des droits dans votre région ;</li>
        <li>
          envoyer un courrier par la poste (gratuit, ne pas mettre de timbre) : Défenseur des droits, Libre réponse
          71120, 75342 Paris CEDEX 07.
        </li>
      </ul>
    </>
  );
}

function LegalNotice() {
  return (
    <>
      <h1>Mentions légales</h1>
      <h2>Éditeur</h2>
      <p>
        Direction interministérielle du numérique (DINUM), 20 avenue de Ségur, 75007 Paris. Directeur de la publication
        : le directeur interministériel du numérique.
      </p>
      <h2>Hébergement</h2>
      <p>Le service est hébergé par chaque ministère qui l’exploite, sur ses propres infrastructures.</p>
      <h2>Licence</h2>
      <p>Le code source du service est publié sous licence MIT.</p>
      <h2>Accessibilité</h2>
      <p>
        Voir la <a href="#/accessibilite">déclaration d’accessibilité</a>.
      </p>
    </>
  );
}

function PersonalData() {
  return (
    <>
      <h1>Données personnelles</h1>
      <p>
        Ce service traite les données nécessaires à la gestion des téléphones professionnels des agents de l’État : nom,
        adresse électronique professionnelle, ministère, rôles, téléphones enrôlés et leur état de conformité, demandes
        de dérogation et décisions.
      </p>
      <h2>Finalité et base légale</h2>
      <p>
        Appliquer la politique applicative de l’État sur ses téléphones professionnels et instruire les demandes de
        dérogation (mission d’intérêt public, article 6-1-e du RGPD).
      </p>
      <h2>Durée de conservation</h2>
      <p>
        Les données d’un agent sont conservées tant qu’il utilise un téléphone professionnel ; le journal d’audit des
        décisions est conservé pour la durée fixée par chaque ministère.
      </p>
      <h2>Cookies</h2>
      <p>
        Un seul cookie, strictement nécessaire, maintient votre session après connexion. Aucun cookie de mesure
        d’audience ni de tiers n’est déposé.
      </p>
      <h2>Vos droits</h2>
      <p>
        Vous disposez d’un droit d’accès, de rectification et de limitation de vos données. Adressez-vous au délégué à
        la protection des données de votre ministère. Vous pouvez aussi saisir la CNIL.
      </p>
    </>
  );
}

export function LegalPage({ route }: { route: LegalRoute }) {
  switch (route) {
    case 'accessibilite':
      return <Accessibility />;
    case 'mentions-legales':
      return <LegalNotice />;
    case 'donnees-personnelles':
      return <PersonalData />;
  }
}
