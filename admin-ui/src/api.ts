/**
 * The one door to the API. Every request carries the session cookie (`credentials: 'include'`) and
 * `X-Requested-With: mdm-admin-ui`, which the API requires of cookie-authenticated writes (CSRF).
 * Every error answer `{ statusCode, code, message }` becomes a thrown `ApiError` whose message is
 * in French and keeps the API's own explanation: callers show it, never swallow it.
 */
import type {
  AgentView,
  AndroidEnrollmentToken,
  AppleEnrollmentLink,
  ApplyRequest,
  CatalogApp,
  Compliance,
  Device,
  EffectivePolicy,
  Exemption,
  ExemptionRequest,
  ExemptionStatus,
  Me,
  Ministry,
  MinistryRolloutStatus,
  Page,
  PersonalUsage,
  PolicyContent,
  PolicyDiff,
  PolicyVersionView,
  Role,
  Rollout,
  SavedPlan,
} from './types';

export const REQUESTED_WITH = 'mdm-admin-ui';

interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details?: unknown;
}

/** What went wrong, in French, with the API's stable code and its own sentence. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    /** The API's explanation, as sent. */
    readonly detail: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The request field the API complained about (class-validator messages start with the property name). */
  fieldIn<F extends string>(fields: readonly F[]): F | null {
    if (this.status !== 400) return null;
    return fields.find((f) => this.detail === f || this.detail.startsWith(`${f} `)) ?? null;
  }
}

const FRENCH_BY_CODE: Record<string, string> = {
  'auth.invalid-token': 'Votre session a expiré : reconnectez-vous.',
  'policy.stale-plan': 'La politique a changé depuis la prévisualisation : prévisualisez à nouveau.',
  'policy.plan-already-applied': 'Ce plan a déjà été appliqué.',
  'policy.conflicting-rule': 'Une règle du ministère contredit le socle national.',
  'policy.invalid-policy': 'La politique proposée est invalide.',
  'policy.invalid-stages':
    'Les étapes doivent être des pourcentages croissants se terminant par 100 (par exemple 1, 10, 100).',
  'request.malformed-json': 'La requête envoyée est mal formée.',
  'exemption.not-exemptable': 'Cette application est bloquée par une règle qui n’admet aucune dérogation.',
  'exemption.not-blocked': 'Cette application n’est pas bloquée pour vous : aucune dérogation n’est nécessaire.',
  'exemption.already-exists': 'Vous avez déjà une demande en cours ou une dérogation active pour cette application.',
  'exemption.period-too-long': 'La durée demandée dépasse le maximum permis par la règle.',
  'exemption.self-decision': 'Vous ne pouvez pas décider de votre propre demande.',
  'exemption.invalid-transition':
    'Cette demande a déjà été traitée ou n’est plus dans un état qui permet cette action.',
  'exemption.rule-changed':
    'La politique a changé depuis la demande : l’application n’est plus bloquée ou n’admet plus de dérogation.',
  'exemption.unknown-device': 'Cet appareil ne vous appartient pas ou n’existe pas.',
  'directory.self-demotion': 'Vous ne pouvez pas retirer vos propres droits d’administration.',
  'rollout.invalid-transition': 'Ce déploiement n’est pas dans un état qui permet cette action.',
  'request.too-large': 'La requête envoyée est trop volumineuse.',
};

function frenchLead(status: number, code: string): string {
  const known = FRENCH_BY_CODE[code];
  if (known) return known;
  if (status === 0) return 'Le service est injoignable : vérifiez votre connexion puis réessayez.';
  if (status === 400 || status === 422) return 'La demande est invalide.';
  if (status === 401) return 'Vous n’êtes pas connecté ou votre session a expiré.';
  if (status === 403) return 'Vous n’avez pas les droits nécessaires pour cette action.';
  if (status === 404) return 'Élément introuvable.';
  if (status === 409) return 'L’opération n’est pas possible dans l’état actuel.';
  if (status === 413) return 'La requête envoyée est trop volumineuse.';
  if (status === 429) return 'Trop de requêtes : patientez un instant puis réessayez.';
  if (status >= 500) return 'Le service a rencontré une erreur ; elle a été journalisée. Réessayez plus tard.';
  return `Erreur ${status}.`;
}

function isErrorBody(value: unknown): value is ErrorBody {
  return typeof value === 'object' && value !== null && typeof (value as ErrorBody).message === 'string';
}

async function toApiError(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  const code = isErrorBody(body) && typeof body.code === 'string' ? body.code : `http-${res.status}`;
  const detail = isErrorBody(body) ? body.message : res.statusText;
  const lead = frenchLead(res.status, code);
  return new ApiError(res.status, code, detail, detail && detail !== lead ? `${lead} Détail : ${detail}` : lead);
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', 'X-Requested-With': REQUESTED_WITH };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'include',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e), frenchLead(0, 'network'));
  }
  if (!res.ok) throw await toApiError(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

const enc = encodeURIComponent;

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Where the browser goes to sign in; the API runs the OpenID Connect flow and comes back here. */
export function loginUrl(returnTo: string = window.location.pathname + window.location.hash): string {
  return `/auth/login?returnTo=${enc(returnTo)}`;
}

export function exemptionRegisterCsvUrl(ministry: string): string {
  return `/ministries/${enc(ministry)}/exemption-register.csv`;
}

export const api = {
  me: () => request<Me>('GET', '/me'),
  logout: () => request<void>('POST', '/auth/logout'),

  myDevices: () => request<Device[]>('GET', '/me/devices'),
  deviceEffectivePolicy: (id: string) => request<EffectivePolicy>('GET', `/devices/${enc(id)}/effective-policy`),
  myEffectivePolicy: () => request<EffectivePolicy>('GET', '/agents/me/effective-policy'),
  catalog: () => request<CatalogApp[]>('GET', '/catalog/apps'),

  requestExemption: (body: ExemptionRequest) => request<Exemption>('POST', '/exemptions', body),
  myExemptions: () => request<Exemption[]>('GET', '/me/exemptions'),
  cancelExemption: (id: string) => request<Exemption>('POST', `/exemptions/${enc(id)}/cancel`),
  renewExemption: (id: string, justification?: string) =>
    request<Exemption>('POST', `/exemptions/${enc(id)}/renew`, justification ? { justification } : {}),
  approveExemption: (id: string, days?: number) =>
    request<Exemption>('POST', `/exemptions/${enc(id)}/approve`, days ? { days } : {}),
  denyExemption: (id: string, reason: string) => request<Exemption>('POST', `/exemptions/${enc(id)}/deny`, { reason }),
  revokeExemption: (id: string, reason: string) =>
    request<Exemption>('POST', `/exemptions/${enc(id)}/revoke`, { reason }),
  exemptionQueue: (ministry: string, status: ExemptionStatus = 'pending') =>
    request<Page<Exemption>>('GET', `/ministries/${enc(ministry)}/exemptions${query({ status, limit: 200 })}`),
  exemptionRegister: (ministry: string) =>
    request<Exemption[]>('GET', `/ministries/${enc(ministry)}/exemption-register`),

  ministries: () => request<Ministry[]>('GET', '/ministries'),
  ministryAgents: (ministry: string) => request<AgentView[]>('GET', `/ministries/${enc(ministry)}/agents`),
  grantRole: (agentId: string, role: Role, ministry: string | null) =>
    request<AgentView>('POST', `/agents/${enc(agentId)}/roles`, ministry ? { role, ministry } : { role }),
  revokeRole: (agentId: string, assignmentId: string) =>
    request<unknown>('DELETE', `/agents/${enc(agentId)}/roles/${enc(assignmentId)}`),

  policy: (scope: string) => request<PolicyVersionView>('GET', `/policies/${enc(scope)}`),
  policyVersions: (scope: string) => request<PolicyVersionView[]>('GET', `/policies/${enc(scope)}/versions`),
  policyDiff: (scope: string, from: number, to: number) =>
    request<PolicyDiff>('GET', `/policies/${enc(scope)}/diff${query({ from, to })}`),
  rollback: (scope: string, version: number) =>
    request<PolicyVersionView>('POST', `/policies/${enc(scope)}/rollback`, { version }),
  ministryEffectivePolicy: (ministry: string) =>
    request<EffectivePolicy>('GET', `/ministries/${enc(ministry)}/effective-policy`),
  planPolicy: (scope: string, content: PolicyContent & { comment?: string }) =>
    request<SavedPlan>('POST', `/policies/${enc(scope)}/plan`, content),
  applyPlan: (id: string, body: ApplyRequest) => request<unknown>('POST', `/policy-plans/${enc(id)}/apply`, body),

  rollouts: (active = true) => request<Rollout[]>('GET', `/rollouts${query({ active: active ? 'true' : undefined })}`),
  rollout: (id: string) => request<Rollout>('GET', `/rollouts/${enc(id)}`),
  ministryRolloutStatus: (ministry: string) =>
    request<MinistryRolloutStatus>('GET', `/ministries/${enc(ministry)}/rollout-status`),

  ministryDevices: (ministry: string, compliance?: Compliance) =>
    request<Page<Device>>('GET', `/ministries/${enc(ministry)}/devices${query({ compliance, limit: 500 })}`),

  androidEnrollmentToken: (ministry: string, body: { durationMinutes: number; personalUsage: PersonalUsage }) =>
    request<AndroidEnrollmentToken>('POST', `/ministries/${enc(ministry)}/android/enrollment-tokens`, body),
  appleEnrollmentLink: (ministry: string, body: { expiresInHours: number }) =>
    request<AppleEnrollmentLink>('POST', `/ministries/${enc(ministry)}/apple/enrollment-links`, body),
};
