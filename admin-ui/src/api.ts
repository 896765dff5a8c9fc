/**
 * The one door to the API, through the client generated from its OpenAPI document
 * (admin-ui/src/client/, `npm run openapi`): paths, parameters, bodies and answers are the API's
 * own types. Every request carries the session cookie (`credentials: 'include'`) and
 * `X-Requested-With: mdm-admin-ui`, which the API requires of cookie-authenticated writes (CSRF).
 * Every error answer (an ErrorBody) becomes a thrown `ApiError` whose message is the French of its
 * stable code (errors.ts), the API's English kept aside in `detail`: callers show the message, never
 * swallow it.
 */
import {
  catalogList,
  devicesGet,
  devicesCommands,
  devicesList,
  devicesLock,
  devicesRetire,
  devicesMine,
  directoryAgents,
  directoryGrant,
  directoryMe,
  directoryMinistries,
  directoryRevoke,
  notificationsMine,
  notificationsRead,
  exemptionsApprove,
  exemptionsCancel,
  exemptionsDeny,
  exemptionsGet,
  exemptionsMine,
  exemptionsQueue,
  exemptionsRegister,
  exemptionsRenew,
  exemptionsRequest,
  exemptionsRevoke,
  policiesAgentEffective,
  policiesApply,
  policiesCurrent,
  policiesDeviceEffective,
  policiesDiff,
  policiesMinistryEffective,
  policiesPlan,
  policiesRollback,
  policiesVersions,
  rolloutAbort,
  rolloutAdvance,
  rolloutGet,
  rolloutList,
  rolloutPause,
  rolloutResume,
  rolloutStatus,
  sessionLogout,
  appleLink,
  androidCreateToken,
} from './client';
import { client } from './client/client.gen';
import { frenchError } from './errors';
import type {
  ApplyRequest,
  Compliance,
  EnrollmentLinkDto,
  EnrollmentTokenDto,
  ErrorBody,
  ExemptionPage,
  ExemptionStatus,
  PlanRequest,
  RequestExemptionDto,
  Role,
} from './client';

export const REQUESTED_WITH = 'mdm-admin-ui';

client.setConfig({
  credentials: 'include',
  headers: { Accept: 'application/json', 'X-Requested-With': REQUESTED_WITH },
});

/** What went wrong, in French (the message), with the API's stable code and its own English sentence. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The API's stable code (ErrorCode), `request.http-<status>`, or `http-<status>`/`network` when no ErrorBody came. */
    readonly code: string,
    /** The API's explanation, as sent (English, for developers: the message is what a person reads). */
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

function isErrorBody(value: unknown): value is ErrorBody {
  return typeof value === 'object' && value !== null && typeof (value as ErrorBody).message === 'string';
}

/** The generated client hands over the parsed body of an error answer (or the fetch failure, without a response). */
function toApiError(body: unknown, response: Response | undefined): ApiError {
  if (!response) {
    const detail = body instanceof Error ? body.message : String(body);
    return new ApiError(0, 'network', detail, frenchError(0, 'network', detail));
  }
  const code = isErrorBody(body) && typeof body.code === 'string' ? body.code : `http-${response.status}`;
  const detail = isErrorBody(body) ? body.message : response.statusText;
  return new ApiError(response.status, code, detail, frenchError(response.status, code, detail));
}

client.interceptors.error.use((error, response) => toApiError(error, response));

/** The answer's body; an error answer was thrown as an ApiError by the interceptor above. */
async function data<T>(call: Promise<{ data: T }>): Promise<T> {
  return (await call).data;
}

/** Where the browser goes to sign in; the API runs the OpenID Connect flow and comes back here. */
export function loginUrl(returnTo: string = window.location.pathname + window.location.hash): string {
  return `/auth/login?returnTo=${encodeURIComponent(returnTo)}`;
}

export function exemptionRegisterCsvUrl(ministry: string): string {
  return `/ministries/${encodeURIComponent(ministry)}/exemption-register.csv`;
}

const throwOnError = true;

/** The approvers' queue's page size (admin-ui/src/pages/approver/Queue.tsx pages by it). */
export const QUEUE_PAGE_SIZE = 20;

type QueueFilters = { status?: ExemptionStatus; app?: string; minAgeDays?: number; cursor?: string; limit?: number };

const prefetchedQueue = new Map<string, Promise<ExemptionPage>>();
const fetchMe = () => data(directoryMe({ throwOnError }));
let prefetchedMe: ReturnType<typeof fetchMe> | undefined;

function queueKey(ministry: string, query: QueueFilters): string {
  const set = Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([ministry, set]);
}

export const api = {
  /** The signed-in person; the first call takes the answer prefetchMe asked for, if any. */
  me: () => {
    const early = prefetchedMe;
    prefetchedMe = undefined;
    return early ?? fetchMe();
  },
  /** Asks for /me as the code starts, before React's first render, which asks for it next. */
  prefetchMe: () => {
    prefetchedMe = fetchMe();
    prefetchedMe.catch(() => undefined);
  },
  /** Ends the session; with a provider that has its own logout (ProConnect), the address the browser goes to next. */
  logout: async (): Promise<string | null> => {
    const answer = await data(sessionLogout({ throwOnError }));
    return answer && 'redirectTo' in answer ? answer.redirectTo : null;
  },

  myDevices: () => data(devicesMine({ throwOnError })),
  deviceEffectivePolicy: (id: string) => data(policiesDeviceEffective({ path: { id }, throwOnError })),
  myEffectivePolicy: () => data(policiesAgentEffective({ path: { id: 'me' }, throwOnError })),
  catalog: () => data(catalogList({ throwOnError })),

  requestExemption: (body: RequestExemptionDto) => data(exemptionsRequest({ body, throwOnError })),
  myExemptions: () => data(exemptionsMine({ throwOnError })),
  exemption: (id: string) => data(exemptionsGet({ path: { id }, throwOnError })),
  cancelExemption: (id: string) => data(exemptionsCancel({ path: { id }, throwOnError })),
  renewExemption: (id: string, justification?: string) =>
    data(exemptionsRenew({ path: { id }, body: justification ? { justification } : {}, throwOnError })),
  approveExemption: (id: string, days?: number) =>
    data(exemptionsApprove({ path: { id }, body: days ? { days } : {}, throwOnError })),
  denyExemption: (id: string, reason: string) => data(exemptionsDeny({ path: { id }, body: { reason }, throwOnError })),
  revokeExemption: (id: string, reason: string) =>
    data(exemptionsRevoke({ path: { id }, body: { reason }, throwOnError })),
  /** One page of a ministry's requests, oldest first; `cursor` is the previous page's nextCursor. */
  exemptionQueue: (ministry: string, filters: QueueFilters = {}): Promise<ExemptionPage> => {
    const query: QueueFilters = { status: 'pending', limit: QUEUE_PAGE_SIZE, ...filters };
    const key = queueKey(ministry, query);
    const early = prefetchedQueue.get(key);
    prefetchedQueue.delete(key);
    return early ?? data(exemptionsQueue({ path: { code: ministry }, query, throwOnError }));
  },
  /**
   * Asks for the queue's first page before the page knows it needs it (while /me is on its way):
   * the queue's first exemptionQueue call with the same filters takes this answer instead of asking.
   */
  prefetchQueue: (ministry: string) => {
    const query: QueueFilters = { status: 'pending', limit: QUEUE_PAGE_SIZE };
    const key = queueKey(ministry, query);
    const early = data(exemptionsQueue({ path: { code: ministry }, query, throwOnError }));
    // Not taken (another ministry shown, signed out): dropped, its refusal unreported.
    early.catch(() => undefined);
    prefetchedQueue.set(key, early);
    setTimeout(() => prefetchedQueue.get(key) === early && prefetchedQueue.delete(key), 10_000);
  },
  /** How many requests wait for a decision (one row fetched: the page carries the total). */
  pendingCount: async (ministry: string) =>
    (await data(exemptionsQueue({ path: { code: ministry }, query: { status: 'pending', limit: 1 }, throwOnError })))
      .total,
  exemptionRegister: (ministry: string) => data(exemptionsRegister({ path: { code: ministry }, throwOnError })),

  notifications: (unreadOnly = false) =>
    data(notificationsMine({ query: unreadOnly ? { unread: 'true' } : {}, throwOnError })),
  markNotificationRead: (id: string) => data(notificationsRead({ path: { id }, throwOnError })),

  ministries: () => data(directoryMinistries({ throwOnError })),
  ministryAgents: (ministry: string, query: { q?: string; cursor?: string; limit?: number } = {}) =>
    data(directoryAgents({ path: { code: ministry }, query, throwOnError })),
  grantRole: (agentId: string, role: Role, ministry: string | null) =>
    data(directoryGrant({ path: { id: agentId }, body: ministry ? { role, ministry } : { role }, throwOnError })),
  revokeRole: (agentId: string, assignmentId: string) =>
    data(directoryRevoke({ path: { id: agentId, assignmentId }, throwOnError })),

  policy: (scope: string) => data(policiesCurrent({ path: { scope }, throwOnError })),
  policyVersions: (scope: string) => data(policiesVersions({ path: { scope }, throwOnError })),
  policyDiff: (scope: string, from: number, to: number) =>
    data(policiesDiff({ path: { scope }, query: { from, to }, throwOnError })),
  rollback: (scope: string, version: number) =>
    data(policiesRollback({ path: { scope }, body: { version }, throwOnError })),
  ministryEffectivePolicy: (ministry: string) =>
    data(policiesMinistryEffective({ path: { code: ministry }, throwOnError })),
  planPolicy: (scope: string, content: PlanRequest) =>
    data(policiesPlan({ path: { scope }, body: content, throwOnError })),
  applyPlan: (id: string, body: ApplyRequest) => data(policiesApply({ path: { id }, body, throwOnError })),

  rollouts: (active = true) => data(rolloutList({ query: active ? { active: 'true' } : {}, throwOnError })),
  rollout: (id: string) => data(rolloutGet({ path: { id }, throwOnError })),
  pauseRollout: (id: string, reason?: string) =>
    data(rolloutPause({ path: { id }, body: reason ? { reason } : {}, throwOnError })),
  resumeRollout: (id: string) => data(rolloutResume({ path: { id }, throwOnError })),
  advanceRollout: (id: string) => data(rolloutAdvance({ path: { id }, throwOnError })),
  abortRollout: (id: string, reason?: string) =>
    data(rolloutAbort({ path: { id }, body: reason ? { reason } : {}, throwOnError })),
  ministryRolloutStatus: (ministry: string) => data(rolloutStatus({ path: { code: ministry }, throwOnError })),

  ministryDevices: (
    ministry: string,
    query: { compliance?: Compliance; q?: string; cursor?: string; limit?: number } = {},
  ) => data(devicesList({ path: { code: ministry }, query, throwOnError })),

  device: (id: string) => data(devicesGet({ path: { id }, throwOnError })),
  deviceCommands: (id: string) => data(devicesCommands({ path: { id }, throwOnError })),
  lockDevice: (id: string) => data(devicesLock({ path: { id }, throwOnError })),
  retireDevice: (id: string, reason: string) => data(devicesRetire({ path: { id }, body: { reason }, throwOnError })),

  androidEnrollmentToken: (ministry: string, body: EnrollmentTokenDto) =>
    data(androidCreateToken({ path: { code: ministry }, body, throwOnError })),
  appleEnrollmentLink: (ministry: string, body: EnrollmentLinkDto) =>
    data(appleLink({ path: { code: ministry }, body, throwOnError })),
};
