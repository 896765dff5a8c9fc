import { Badge } from '@codegouvfr/react-dsfr/Badge';
import { Display, headerFooterDisplayItem } from '@codegouvfr/react-dsfr/Display';
import { Footer } from '@codegouvfr/react-dsfr/Footer';
import { Header } from '@codegouvfr/react-dsfr/Header';
import { SkipLinks } from '@codegouvfr/react-dsfr/SkipLinks';
import { useEffect, useState } from 'react';
import { api, ApiError, loginUrl } from './api';
import { forgetQueueMinistry } from './prefetch';
import { ErrorAlert } from './components/ErrorAlert';
import { HOMES, homesOf, landingHome, type Home } from './homes';
import { AccessDenied, NotFound } from './pages/AccessDenied';
import { AgentHome } from './pages/AgentHome';
import { ApproverHome } from './pages/ApproverHome';
import { ComplianceHome } from './pages/compliance/ComplianceHome';
import { ExemptionPage } from './pages/ExemptionPage';
import { ItAdminHome } from './pages/ItAdminHome';
import { isLegalRoute, LEGAL_TITLES, LegalPage, type LegalRoute } from './pages/legal/LegalPages';
import { NationalAdminHome } from './pages/NationalAdminHome';
import { NoRole } from './pages/NoRole';
import { Notifications } from './pages/Notifications';
import { SignIn } from './pages/SignIn';
import { href, useRoute, type Route } from './router';
import { SessionProvider, useSession } from './session';
import type { Me } from './types';
import { useLoad } from './useLoad';

const SERVICE = 'Applications des téléphones de l’État';

function HomePage({
  home,
  me,
  section,
  query,
}: {
  home: Home;
  me: Me;
  section: string | undefined;
  query: URLSearchParams;
}) {
  switch (home.id) {
    case 'agent':
      return <AgentHome me={me} section={section} />;
    case 'validation':
      return <ApproverHome me={me} section={section} initialMinistry={query.get('ministere') ?? undefined} />;
    case 'informatique':
      return <ItAdminHome me={me} section={section} />;
    case 'conformite':
      return <ComplianceHome me={me} />;
    case 'national':
      return <NationalAdminHome section={section} />;
  }
}

/** Which page the route opens for this person: a page they may not see is said so, never swapped for another. */
type Resolved =
  | { kind: 'home'; home: Home }
  | { kind: 'denied'; page: Home }
  | { kind: 'notifications' }
  | { kind: 'legal'; route: LegalRoute }
  | { kind: 'exemption'; id: string }
  | { kind: 'none' }
  | { kind: 'not-found' };

function resolve(route: Route, homes: Home[]): Resolved {
  const [first, second] = route.segments;
  if (first === undefined) {
    const landing = landingHome(homes);
    return landing ? { kind: 'home', home: landing } : { kind: 'none' };
  }
  if (first === 'notifications') return { kind: 'notifications' };
  if (isLegalRoute(first)) return { kind: 'legal', route: first };
  if (first === 'exemptions' && second) return { kind: 'exemption', id: second };
  const mine = homes.find((h) => h.id === first);
  if (mine) return { kind: 'home', home: mine };
  const known = HOMES.find((h) => h.id === first);
  if (known) return { kind: 'denied', page: known };
  return { kind: 'not-found' };
}

function titleOf(resolved: Resolved): string {
  switch (resolved.kind) {
    case 'home':
      return resolved.home.label;
    case 'denied':
      return 'Accès refusé';
    case 'notifications':
      return 'Notifications';
    case 'legal':
      return LEGAL_TITLES[resolved.route];
    case 'exemption':
      return 'Demande de dérogation';
    case 'none':
      return 'Accueil';
    case 'not-found':
      return 'Page introuvable';
  }
}

/** The figure shown next to a home in the menu: what waits there for this person. */
function waiting(home: Home, session: ReturnType<typeof useSession>): { n: number; what: string } | null {
  if (home.id === 'validation' && session.pendingTotal)
    return { n: session.pendingTotal, what: `demande${session.pendingTotal > 1 ? 's' : ''} à examiner` };
  if (home.id === 'agent' && session.myPending)
    return { n: session.myPending, what: `demande${session.myPending > 1 ? 's' : ''} en attente` };
  return null;
}

function SignedIn({ me, route, onLogout }: { me: Me; route: Route; onLogout: () => void }) {
  const session = useSession();
  const homes = homesOf(me);
  const resolved = resolve(route, homes);
  const active = resolved.kind === 'home' ? resolved.home : undefined;
  const landing = landingHome(homes);

  const title = `${titleOf(resolved)} — ${SERVICE}`;
  useEffect(() => {
    document.title = title;
  }, [title]);

  const unread = session.unread ?? 0;
  return (
    <>
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
        quickAccessItems={[
          {
            iconId: 'fr-icon-notification-3-line',
            text: unread > 0 ? `Notifications (${unread} non lue${unread > 1 ? 's' : ''})` : 'Notifications',
            linkProps: { href: href('notifications') },
          },
          {
            iconId: 'fr-icon-account-circle-line',
            text: me.displayName,
            linkProps: { href: href(landing?.id ?? '') },
          },
          headerFooterDisplayItem,
          {
            iconId: 'fr-icon-logout-box-r-line',
            text: 'Se déconnecter',
            buttonProps: { onClick: onLogout, type: 'button' },
          },
        ]}
        navigation={
          homes.length > 1
            ? homes.map((h) => {
                const w = waiting(h, session);
                return {
                  text: w ? (
                    <>
                      {h.label}
                      <Badge as="span" small severity="new" className="fr-ml-1w">
                        {w.n}
                        <span className="fr-sr-only"> {w.what}</span>
                      </Badge>
                    </>
                  ) : (
                    h.label
                  ),
                  linkProps: { href: href(h.id) },
                  isActive: h.id === active?.id,
                };
              })
            : undefined
        }
      />
      <main id="contenu" tabIndex={-1} className="fr-container fr-py-5w" style={{ minHeight: '60vh' }}>
        <Page me={me} route={route} resolved={resolved} landing={landing} />
      </main>
    </>
  );
}

function Page({
  me,
  route,
  resolved,
  landing,
}: {
  me: Me;
  route: Route;
  resolved: Resolved;
  landing: Home | undefined;
}) {
  switch (resolved.kind) {
    case 'home':
      return (
        <HomePage key={resolved.home.id} home={resolved.home} me={me} section={route.segments[1]} query={route.query} />
      );
    case 'denied':
      return <AccessDenied page={resolved.page} home={landing} />;
    case 'notifications':
      return <Notifications />;
    case 'legal':
      return <LegalPage route={resolved.route} />;
    case 'exemption':
      return <ExemptionPage key={resolved.id} id={resolved.id} me={me} renew={route.query.get('renew') === '1'} />;
    case 'none':
      return <NoRole me={me} />;
    case 'not-found':
      return <NotFound home={landing} />;
  }
}

function SignedOutHeader() {
  return (
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
      quickAccessItems={[
        headerFooterDisplayItem,
        { iconId: 'fr-icon-lock-line', text: 'Se connecter', linkProps: { href: loginUrl() } },
      ]}
    />
  );
}

export function App() {
  const me = useLoad(() => api.me(), 'me');
  const route = useRoute();
  const [logoutError, setLogoutError] = useState<Error>();
  const signedOut = me.error instanceof ApiError && me.error.status === 401;
  const legal = isLegalRoute(route.segments[0]) ? route.segments[0] : undefined;

  const logout = () => {
    forgetQueueMinistry();
    api.logout().then(
      // With ProConnect the provider's session ends too: the browser goes there, then comes back.
      (providerLogout) => window.location.assign(providerLogout ?? window.location.pathname),
      (e: unknown) => setLogoutError(e instanceof Error ? e : new Error(String(e))),
    );
  };

  useEffect(() => {
    if (!me.data) document.title = legal ? `${LEGAL_TITLES[legal]} — ${SERVICE}` : SERVICE;
  }, [me.data, legal]);

  const body = legal ? (
    <LegalPage route={legal} />
  ) : signedOut ? (
    <SignIn />
  ) : me.error ? (
    <ErrorAlert title="Impossible de charger votre profil" error={me.error} />
  ) : (
    <p role="status">Chargement…</p>
  );

  return (
    <>
      <SkipLinks links={[{ label: 'Contenu', anchor: '#contenu' }]} />
      {me.data ? (
        <SessionProvider me={me.data} routeKey={route.path}>
          <SignedIn me={me.data} route={route} onLogout={logout} />
        </SessionProvider>
      ) : (
        <>
          <SignedOutHeader />
          <main id="contenu" tabIndex={-1} className="fr-container fr-py-5w" style={{ minHeight: '60vh' }}>
            {body}
          </main>
        </>
      )}
      {logoutError && (
        <div className="fr-container">
          <ErrorAlert title="Déconnexion impossible" error={logoutError} onClose={() => setLogoutError(undefined)} />
        </div>
      )}
      <Footer
        accessibility="non compliant"
        accessibilityLinkProps={{ href: '#/accessibilite' }}
        termsLinkProps={{ href: '#/mentions-legales' }}
        bottomItems={[
          { text: 'Données personnelles', linkProps: { href: '#/donnees-personnelles' } },
          headerFooterDisplayItem,
        ]}
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
      <Display />
    </>
  );
}
