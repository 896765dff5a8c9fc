import { Footer } from '@codegouvfr/react-dsfr/Footer';
import { Header } from '@codegouvfr/react-dsfr/Header';
import { SkipLinks } from '@codegouvfr/react-dsfr/SkipLinks';
import { useEffect, useState } from 'react';
import { api, ApiError, loginUrl } from './api';
import { ErrorAlert } from './components/ErrorAlert';
import { homesOf, type Home } from './homes';
import { AgentHome } from './pages/AgentHome';
import { ApproverHome } from './pages/ApproverHome';
import { ComplianceHome } from './pages/compliance/ComplianceHome';
import { ItAdminHome } from './pages/ItAdminHome';
import { NationalAdminHome } from './pages/NationalAdminHome';
import { NoRole } from './pages/NoRole';
import { SignIn } from './pages/SignIn';
import { href, useRoute } from './router';
import type { Me } from './types';
import { useLoad } from './useLoad';

const SERVICE = 'Applications des téléphones de l’État';

function HomePage({ home, me, section }: { home: Home; me: Me; section: string | undefined }) {
  switch (home.id) {
    case 'agent':
      return <AgentHome me={me} section={section} />;
    case 'validation':
      return <ApproverHome me={me} section={section} />;
    case 'informatique':
      return <ItAdminHome me={me} section={section} />;
    case 'conformite':
      return <ComplianceHome me={me} />;
    case 'national':
      return <NationalAdminHome section={section} />;
  }
}

export function App() {
  const me = useLoad(() => api.me(), 'me');
  const [homeId, section] = useRoute();
  const [logoutError, setLogoutError] = useState<Error>();
  const signedOut = me.error instanceof ApiError && me.error.status === 401;
  const homes = me.data ? homesOf(me.data) : [];
  const home = homes.find((h) => h.id === homeId) ?? homes[0];

  useEffect(() => {
    document.title = home ? `${home.label} — ${SERVICE}` : SERVICE;
  }, [home]);

  const logout = () => {
    api.logout().then(
      // With ProConnect the provider's session ends too: the browser goes there, then comes back.
      (providerLogout) => window.location.assign(providerLogout ?? window.location.pathname),
      (e: unknown) => setLogoutError(e instanceof Error ? e : new Error(String(e))),
    );
  };

  return (
    <>
      <SkipLinks links={[{ label: 'Contenu', anchor: '#contenu' }]} />
      <Header
        brandTop={
          <>
            République
            <br />
            Française
          </>
        }
        serviceTitle={SERVICE}
        serviceTagline="Politique applicative et dérogations"
        homeLinkProps={{ href: '#/', title: `Accueil — ${SERVICE}` }}
        quickAccessItems={
          me.data
            ? [
                {
                  iconId: 'fr-icon-account-circle-line',
                  text: me.data.displayName,
                  linkProps: { href: href(home?.id ?? '') },
                },
                {
                  iconId: 'fr-icon-logout-box-r-line',
                  text: 'Se déconnecter',
                  buttonProps: { onClick: logout, type: 'button' },
                },
              ]
            : [{ iconId: 'fr-icon-lock-line', text: 'Se connecter', linkProps: { href: loginUrl() } }]
        }
        navigation={
          homes.length > 1
            ? homes.map((h) => ({ text: h.label, linkProps: { href: href(h.id) }, isActive: h.id === home?.id }))
            : undefined
        }
      />
      <main id="contenu" tabIndex={-1} className="fr-container fr-py-5w" style={{ minHeight: '60vh' }}>
        {logoutError && (
          <ErrorAlert title="Déconnexion impossible" error={logoutError} onClose={() => setLogoutError(undefined)} />
        )}
        {signedOut ? (
          <SignIn />
        ) : me.error ? (
          <ErrorAlert title="Impossible de charger votre profil" error={me.error} />
        ) : !me.data ? (
          <p role="status">Chargement…</p>
        ) : home ? (
          <HomePage key={home.id} home={home} me={me.data} section={section} />
        ) : (
          <NoRole me={me.data} />
        )}
      </main>
      <Footer
        accessibility="non compliant"
        brandTop={
          <>
            République
            <br />
            Française
          </>
        }
        homeLinkProps={{ href: '#/', title: `Accueil — ${SERVICE}` }}
        contentDescription="Service libre (licence MIT) qui décide des applications autorisées sur les téléphones professionnels des agents de l’État et instruit les demandes de dérogation."
      />
    </>
  );
}
