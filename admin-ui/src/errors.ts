/**
 * The API's errors in French. The API answers every error with a stable code (`<domain>.<code>`,
 * see api/src/<domain>/<domain>.error.ts and the exception filter) and an English sentence for developers and
 * scripts; a person reading the interface gets the sentence below for the code instead, never the
 * English nor the ids it quotes. The record is complete: a code the API adds without its French
 * here is a compile error (ErrorCode comes from the API's OpenAPI document). A code written here
 * before the client is generated again is allowed (the string index).
 */
// The generated types alone (not the client's index): the API's tests import this file, without the DOM's types.
import type { ErrorCode } from './client/types.gen';

const NOT_CONFIGURED_ANDROID =
  'Android n’est pas configuré sur ce serveur : demandez à l’exploitant du service de le relier à un projet Android Enterprise.';
const NOT_CONFIGURED_APPLE =
  'Les iPhone ne sont pas configurés sur ce serveur : demandez à l’exploitant du service d’activer le serveur MDM Apple.';
const PHONE_PROTOCOL = 'Le message du téléphone a été refusé : il ne respecte pas le protocole attendu.';
const GOOGLE_UNAVAILABLE = 'Google ne répond pas pour le moment : réessayez dans quelques minutes.';
const APPLE_UNAVAILABLE = 'Apple ne répond pas pour le moment : réessayez dans quelques minutes.';
const SIGN_IN_AGAIN = 'La connexion n’a pas abouti : reconnectez-vous.';

export const FRENCH_BY_CODE: Record<ErrorCode, string> & Record<string, string> = {
  internal: 'Le service a rencontré une erreur inattendue ; elle a été journalisée. Réessayez plus tard.',

  'request.invalid': 'La demande est invalide : vérifiez les valeurs saisies.',
  'request.not-found': 'Cette adresse n’existe pas sur le service.',
  'request.malformed-json': 'La requête envoyée est mal formée.',
  'request.too-large': 'La requête envoyée est trop volumineuse.',
  'request.rate-limited': 'Trop de requêtes : patientez un instant puis réessayez.',

  'auth.missing-token': 'Vous n’êtes pas connecté : connectez-vous pour continuer.',
  'auth.malformed-header': 'Vous n’êtes pas connecté : connectez-vous pour continuer.',
  'auth.invalid-token': 'Votre session a expiré : reconnectez-vous.',
  'auth.session-expired': 'Votre session a expiré : reconnectez-vous.',
  'auth.code-refused': SIGN_IN_AGAIN,
  'auth.forbidden': 'Vous n’avez pas les droits nécessaires pour cette action.',
  'auth.csrf': 'La demande n’a pas été reconnue comme venant de cette interface : rechargez la page puis réessayez.',
  'auth.unknown-organisation': 'Votre organisation n’est rattachée à aucun ministère connu du service.',
  'auth.bad-callback': SIGN_IN_AGAIN,
  'auth.unknown-login': 'Ce compte de démonstration n’existe pas.',
  'auth.login-not-configured': 'La connexion par navigateur n’est pas configurée sur ce serveur.',
  'auth.issuer-unreachable': 'Le service d’identité ne répond pas : réessayez dans quelques minutes.',
  'auth.login-other-browser': 'La connexion a commencé dans un autre navigateur : recommencez-la ici.',
  'auth.id-token-refused': SIGN_IN_AGAIN,
  'auth.userinfo-refused': SIGN_IN_AGAIN,
  'auth.unverified-email': 'Votre adresse électronique n’est pas vérifiée par votre fournisseur d’identité.',
  'auth.identity-conflict': 'Cette identité est déjà rattachée à un autre compte : contactez l’administration.',
  'auth.account-deactivated': 'Ce compte est désactivé.',
  'auth.self-grant': 'Vous ne pouvez pas vous attribuer vous-même des droits.',
  'auth.self-deactivation': 'Vous ne pouvez pas désactiver votre propre compte.',
  'auth.person-required': 'Cette action est réservée à une personne, pas à un compte de service.',
  'auth.token-scope': 'Ce jeton d’accès ne permet pas cette action.',
  'auth.token-not-found': 'Ce jeton d’accès n’existe pas ou a déjà été révoqué.',
  'auth.bad-logout': 'La déconnexion n’a pas abouti : fermez le navigateur pour terminer la session.',

  'catalog.unknown-app': 'Cette application n’existe pas dans le catalogue.',
  'catalog.invalid-app': 'La fiche de l’application est invalide.',
  'catalog.app-exists': 'Une application de ce nom existe déjà dans le catalogue.',
  'catalog.identifier-taken': 'Cet identifiant (paquet ou bundle) appartient déjà à une autre application.',

  'policy.unknown-scope': 'Cette politique n’existe pas.',
  'policy.unknown-version': 'Cette version de la politique n’existe pas.',
  'policy.no-baseline': 'Le socle national n’est pas encore défini.',
  'policy.already-current': 'Cette version est déjà celle en vigueur.',
  'policy.conflicting-rule': 'Une règle du ministère contredit le socle national.',
  'policy.invalid-policy': 'La politique proposée est invalide.',
  'policy.invalid-policies': 'Les politiques proposées sont invalides.',
  'policy.invalid-yaml': 'Le fichier de politique n’est pas un YAML valide.',
  'policy.invalid-plan': 'Ce plan est invalide ou a été modifié : prévisualisez à nouveau.',
  'policy.invalid-stages':
    'Les étapes doivent être des pourcentages croissants se terminant par 100 (par exemple 1, 10, 100).',
  'policy.plan-not-found': 'Ce plan n’existe plus : prévisualisez à nouveau.',
  'policy.plan-already-applied': 'Ce plan a déjà été appliqué.',
  'policy.stale-plan': 'La politique a changé depuis la prévisualisation : prévisualisez à nouveau.',
  'policy.app-in-use': 'Cette application est encore citée par une politique.',

  'directory.agent-not-found': 'Cet agent n’existe pas.',
  'directory.device-not-found': 'Cet appareil n’existe pas.',
  'directory.unknown-ministry': 'Ce ministère n’existe pas.',
  'directory.role-scope':
    'Ce rôle ne va pas avec ce choix de ministère (l’administration nationale n’en a pas, les autres rôles en ont un).',
  'directory.role-exists': 'Cet agent a déjà ce rôle.',
  'directory.role-not-found': 'Ce rôle a déjà été retiré.',
  'directory.self-demotion': 'Vous ne pouvez pas retirer vos propres droits d’administration.',
  'directory.invalid-cursor': 'Cette page de la liste n’est plus valable : revenez à la première page.',

  'device.not-found': 'Cet appareil n’existe pas ou a quitté le parc.',
  'device.agent-not-found': 'Cet agent n’existe pas.',
  'device.same-agent': 'Cet appareil appartient déjà à cet agent.',
  'device.already-retired': 'Cet appareil a déjà été retiré du parc.',
  'device.not-managed': 'Cet appareil n’est plus géré par le service.',
  'device.platform-refused': 'La plateforme (Google ou Apple) a refusé la commande.',
  'device.platform-unavailable': 'La plateforme (Google ou Apple) ne répond pas : réessayez dans quelques minutes.',
  'device.invalid-cursor': 'Cette page de la liste n’est plus valable : revenez à la première page.',

  'exemption.not-found': 'Cette demande de dérogation n’existe pas.',
  'exemption.unknown-app': 'Cette application n’existe pas dans le catalogue.',
  'exemption.unknown-device': 'Cet appareil ne vous appartient pas ou n’existe pas.',
  'exemption.not-blocked': 'Cette application n’est pas bloquée pour vous : aucune dérogation n’est nécessaire.',
  'exemption.not-exemptable': 'Cette application est bloquée par une règle qui n’admet aucune dérogation.',
  'exemption.period-too-long': 'La durée demandée dépasse le maximum permis par la règle.',
  'exemption.already-exists': 'Vous avez déjà une demande en cours ou une dérogation active pour cette application.',
  'exemption.rule-changed':
    'La politique a changé depuis la demande : l’application n’est plus bloquée ou n’admet plus de dérogation.',
  'exemption.not-yours': 'Cette demande ne vous appartient pas.',
  'exemption.self-decision': 'Vous ne pouvez pas décider de votre propre demande.',
  'exemption.invalid-transition':
    'Cette demande a déjà été traitée ou n’est plus dans un état qui permet cette action.',
  'exemption.invalid-cursor': 'Cette page de la file n’est plus valable : revenez à la première page.',

  'notification.not-found': 'Cette notification n’existe plus.',

  'rollout.not-found': 'Ce déploiement n’existe pas.',
  'rollout.invalid-transition': 'Ce déploiement n’est pas dans un état qui permet cette action.',

  'compliance.unknown-ministry': 'Ce ministère n’existe pas.',
  'compliance.invalid-period': 'La période demandée est invalide.',

  'audit.invalid-checkpoint': 'Ce point de contrôle du journal d’audit est invalide.',

  'android.unknown-ministry': 'Ce ministère n’existe pas.',
  'android.unknown-agent': 'Cet agent n’existe pas.',
  'android.unknown-signup': 'Cette inscription Android Enterprise n’existe pas ou a expiré : recommencez-la.',
  'android.invalid-enterprise': 'Le nom de l’entreprise Android est invalide (il commence par « enterprises/ »).',
  'android.enterprise-bound-elsewhere': 'Cette entreprise Android est déjà liée à un autre ministère.',
  'android.no-enterprise-token':
    'Google n’a pas renvoyé de jeton d’inscription : recommencez l’inscription Android Enterprise.',
  'android.no-project': NOT_CONFIGURED_ANDROID,
  'android.bad-signup': 'Google a refusé l’inscription Android Enterprise : recommencez-la.',
  'android.bad-enterprise': 'Google ne reconnaît pas l’entreprise Android de ce ministère.',
  'android.bad-token': 'Google a refusé de créer le jeton d’enrôlement.',
  'android.google-refused': 'Google a refusé la demande.',
  'android.google-unavailable': GOOGLE_UNAVAILABLE,
  'android.not-ready':
    'Le ministère n’est pas encore lié à son entreprise Android : l’administration nationale doit d’abord la lier.',
  'android.personal-use-disallowed': 'La politique du ministère interdit l’usage personnel des téléphones Android.',
  'android.push-unauthenticated': 'La notification de Google n’a pas pu être authentifiée.',
  'android.bad-push': 'La notification de Google est illisible.',
  'android.not-configured': NOT_CONFIGURED_ANDROID,

  'apple.invalid-certificate': 'Le fichier déposé n’est pas un certificat valide.',
  'apple.not-mdm-push-certificate': 'Ce certificat n’est pas un certificat de notification push MDM d’Apple.',
  'apple.key-mismatch': 'Ce certificat ne correspond pas à la clé privée du serveur.',
  'apple.expired': 'Ce certificat a expiré : renouvelez-le sur le portail Apple.',
  'apple.topic-changed':
    'Ce certificat a un autre sujet que le précédent : les iPhone déjà inscrits ne le reconnaîtraient pas. Renouvelez le même certificat.',
  'apple.no-push-certificate':
    'Aucun certificat de notification push Apple n’est déposé : l’administration nationale doit d’abord en déposer un.',
  'apple.unknown-agent': 'Cet agent n’existe pas.',
  'apple.unknown-enrollment': 'Ce lien d’inscription n’existe pas.',
  'apple.enrollment-expired': 'Ce lien d’inscription a expiré : demandez-en un nouveau.',
  'apple.enrollment-revoked': 'Ce lien d’inscription a été révoqué.',
  'apple.enrollment-used': 'Ce lien d’inscription a déjà servi.',
  'apple.invalid-link': 'Ce lien d’inscription est invalide.',
  'apple.identity-revoked': 'L’identité de cet iPhone a été révoquée.',
  'apple.no-identity': PHONE_PROTOCOL,
  'apple.bad-signature': PHONE_PROTOCOL,
  'apple.unknown-identity': PHONE_PROTOCOL,
  'apple.udid-mismatch': PHONE_PROTOCOL,
  'apple.udid-enrolled': 'Cet iPhone est déjà inscrit.',
  'apple.empty-body': PHONE_PROTOCOL,
  'apple.malformed-plist': PHONE_PROTOCOL,
  'apple.malformed-checkin': PHONE_PROTOCOL,
  'apple.unsupported-checkin': PHONE_PROTOCOL,
  'apple.not-authenticated': PHONE_PROTOCOL,
  'apple.malformed-report': PHONE_PROTOCOL,
  'apple.not-enrolled': 'Cet iPhone n’est pas inscrit.',
  'apple.too-many-messages': 'Cet iPhone envoie trop de messages : il sera servi plus tard.',
  'apple.abm-no-certificate': 'Le certificat Apple Business Manager du serveur manque : créez-le d’abord.',
  'apple.abm-token-invalid': 'Le jeton Apple Business Manager déposé est invalide.',
  'apple.abm-token-wrong-certificate':
    'Ce jeton Apple Business Manager a été chiffré pour un autre certificat que celui de ce serveur.',
  'apple.abm-token-expired': 'Ce jeton Apple Business Manager a expiré : téléchargez-en un nouveau.',
  'apple.abm-no-token': 'Aucun jeton Apple Business Manager n’est déposé pour ce ministère.',
  'apple.abm-refused': 'Apple Business Manager a refusé la demande.',
  'apple.abm-unavailable': APPLE_UNAVAILABLE,
  'apple.abm-unknown-device': 'Cet iPhone n’est pas attribué à ce serveur dans Apple Business Manager.',
  'apple.vpp-token-invalid': 'Le jeton d’achat d’applications (VPP) déposé est invalide.',
  'apple.vpp-no-token': 'Aucun jeton d’achat d’applications (VPP) n’est déposé pour ce ministère.',
  'apple.vpp-unknown-asset': 'Cette application n’a pas été achetée pour ce ministère.',
  'apple.vpp-refused': 'Apple a refusé l’attribution de la licence.',
  'apple.vpp-unavailable': APPLE_UNAVAILABLE,
  'apple.out-of-licences': 'Il n’y a plus de licence disponible pour cette application.',
  'apple.unknown-ministry': 'Ce ministère n’existe pas.',
  'apple.abm-sync-running': 'Une synchronisation avec Apple Business Manager est déjà en cours.',
  'apple.unsupported-device': 'Ce modèle d’appareil Apple n’est pas pris en charge.',
  'apple.wrong-topic': PHONE_PROTOCOL,
  'apple.not-configured': NOT_CONFIGURED_APPLE,
  'apple.scep-malformed': PHONE_PROTOCOL,
  'apple.scep-unknown-operation': PHONE_PROTOCOL,
  'apple.scep-too-large': PHONE_PROTOCOL,
};

/** The request fields a person fills in, by the name the API gives them in its validation sentences. */
const FIELD_LABELS: Record<string, string> = {
  app: 'Application',
  justification: 'Justification',
  days: 'Durée',
  deviceId: 'Appareil',
  reason: 'Motif',
  q: 'Recherche',
  limit: 'Nombre par page',
  cursor: 'Page',
  stages: 'Déploiement progressif',
  stageWaitMinutes: 'Attente entre deux étapes',
  comment: 'Commentaire',
  role: 'Rôle',
  ministry: 'Ministère',
  enterpriseName: 'Entreprise Android',
};

/** class-validator's sentences the API sends for a refused field, as a French rule. */
const RULES: [RegExp, (m: RegExpMatchArray) => string][] = [
  [/at most (\d+) characters/, (m) => `doit compter au plus ${m[1]} caractères`],
  [/at least (\d+) characters/, (m) => `doit compter au moins ${m[1]} caractères`],
  [/must not be greater than (\d+)/, (m) => `doit être au plus ${m[1]}`],
  [/must not be less than (\d+)/, (m) => `doit être au moins ${m[1]}`],
  [/at most (\d+)/, (m) => `ne doit pas dépasser ${m[1]}`],
  [/at least (\d+)/, (m) => `doit compter au moins ${m[1]}`],
  [/longer than or equal to (\d+)/, (m) => `doit compter au moins ${m[1]} caractères`],
  [/shorter than or equal to (\d+)/, (m) => `doit compter au plus ${m[1]} caractères`],
  [/should not be empty|must not be empty/, () => 'est obligatoire'],
  [/must be an integer|whole number/, () => 'doit être un nombre entier'],
];

/** "Durée : doit être au plus 365." for "days must not be greater than 365"; null when the field is not one we name. */
function fieldSentence(detail: string): string | null {
  const field = Object.keys(FIELD_LABELS).find((f) => detail.startsWith(`${f} `));
  if (!field) return null;
  const rule = RULES.map(([re, say]) => {
    const m = detail.match(re);
    return m ? say(m) : null;
  }).find((s) => s !== null);
  return `« ${FIELD_LABELS[field]} » ${rule ?? 'n’a pas une valeur acceptée'}.`;
}

function byStatus(status: number): string {
  if (status === 0) return 'Le service est injoignable : vérifiez votre connexion puis réessayez.';
  if (status === 400 || status === 422) return 'La demande est invalide : vérifiez les valeurs saisies.';
  if (status === 401) return 'Vous n’êtes pas connecté ou votre session a expiré.';
  if (status === 403) return 'Vous n’avez pas les droits nécessaires pour cette action.';
  if (status === 404) return 'Élément introuvable : il a peut-être été supprimé.';
  if (status === 409) return 'L’opération n’est pas possible dans l’état actuel : rechargez la page.';
  if (status === 413) return 'La requête envoyée est trop volumineuse.';
  if (status === 429) return 'Trop de requêtes : patientez un instant puis réessayez.';
  if (status >= 500) return 'Le service a rencontré une erreur ; elle a été journalisée. Réessayez plus tard.';
  return `Le service a répondu par une erreur (${status}).`;
}

/**
 * What to tell a person about an error answer: the French of its code; for a refused field, which
 * field and why; otherwise a French sentence for its HTTP status. Never the API's English, which
 * may quote ids the person has never seen.
 */
export function frenchError(status: number, code: string, detail: string): string {
  if (code === 'request.invalid') return fieldSentence(detail) ?? FRENCH_BY_CODE['request.invalid'];
  return FRENCH_BY_CODE[code] ?? byStatus(status);
}
