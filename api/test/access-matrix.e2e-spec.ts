/**
 * Who may call what. Every HTTP route the application registers is read from its router, so a
 * route added without a line in MATRIX fails the first test. Each line is called by anonymous and
 * by each role, in the ministry that owns the resource (interieur) and in another one (armees), on
 * real rows created through the API: a grant is anything but 401/403 (the first granted caller must
 * succeed), a denial is 401 (anonymous) or 403 (404 where someone else's row is hidden), and a denied
 * write leaves the audit log as it was. Public routes are listed with the reason they need no token.
 */
import request from 'supertest';
import { FakeAmapi, startFakeAmapi } from '../../tools/fake-amapi/fake-amapi';
import { FakeAbm, startFakeAbm } from '../../tools/fake-abm/fake-abm';
import { FakeAppsAndBooks, startFakeAppsAndBooks } from '../../tools/fake-apps-books/fake-apps-books';
import { createMdmPushCertificate, createTestCa } from '../../tools/apple-sim/pki';
import { DeviceStateService } from '../src/devices/device-state.service';
import { RolloutEngine } from '../src/rollout/rollout-engine.service';
import { countRows, startTestApp, TestApp } from './support/test-app';
import { fakeAmapiSettings } from './support/fake-amapi-settings';

/** The callers: roles of the ministry that owns every resource below (interieur), and of another (armees). */
const CALLERS = {
  anonymous: null,
  agent: 'agent.interieur',
  approver: 'approver.interieur',
  it: 'it.interieur',
  national: 'admin.national',
  'agent@armees': 'agent.armees',
  'approver@armees': 'approver.armees',
  'it@armees': 'it.armees',
} as const;
type Caller = keyof typeof CALLERS;
const SIGNED_IN: Caller[] = ['agent', 'approver', 'it', 'national', 'agent@armees', 'approver@armees', 'it@armees'];
/** Anyone of the ministry that owns the resource, and national admins. */
const MEMBERS: Caller[] = ['agent', 'approver', 'it', 'national'];

/** Real rows of interieur (and ids of its people), created through the API before the matrix runs. */
interface Fixtures {
  agentId: string;
  otherAgentId: string;
  deviceId: string;
  otherDeviceId: string;
  assignmentId: string;
  assignmentAgentId: string;
  pending: { get: string; approve: string; deny: string; cancel: string };
  approved: { revoke: string; renew: string };
  notificationId: string;
  versions: { first: number; last: number };
  planContent: Record<string, unknown>;
  planId: string;
  rolloutId: string;
  enrollmentToken: string;
  /** A second enrollment link, revoked by the matrix. */
  enrollmentLinkId: string;
  /** A signed checkpoint of the audit chain, made by a national admin. */
  auditCheckpoint: object;
  enterpriseToken: string;
  push: { certificatePem: string; privateKeyPem: string };
  /** A service token of interieur created by its IT admin, listed; another one, revoked by the matrix. */
  apiTokenId: string;
  revocableTokenId: string;
  /** An agent of interieur the matrix deactivates, then reactivates. */
  leavingAgentId: string;
  /** An Android Enterprise phone of interieur, locked then retired by the matrix. */
  androidDeviceId: string;
  /** Apple Business Manager's server token for interieur's certificate, and an Apps and Books content token. */
  abmToken: string;
  vppToken: string;
}

interface Call {
  path: string;
  body?: object | Buffer;
  type?: string;
}

interface Line {
  /** Who gets through; every other signed-in caller gets 403, anonymous 401. `public`: no bearer token involved. */
  may: Caller[] | 'public';
  /** Why a public route needs no token (it authenticates otherwise, or exposes nothing). */
  why?: string;
  /** A state-changing route: a refused call must leave no audit event. */
  writes?: boolean;
  /** Signed-in callers who may not are told 404 instead of 403: someone else's resource is not revealed to exist. */
  hidden?: true;
  /** A list filtered to what the caller may see: interieur's rows (counted) reach only these granted callers. */
  sees?: { only: Caller[]; count: (body: unknown, f: Fixtures) => number };
  call: (f: Fixtures) => Call;
}

const ENTERPRISE = 'enterprises/LC0matrix';
/** Tchap's store id, owned (with licences) by interieur in the fake Apps and Books. */
const TCHAP_ADAM_ID = '1446253779';
const rows = <T = unknown>(body: unknown): T[] => (Array.isArray(body) ? (body as T[]) : []);
const JUSTIFICATION = 'Compte officiel du ministère, communication de crise.';
const docs = (path: string): Line => ({ may: 'public', why: 'API documentation', call: () => ({ path }) });
const plist = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>MessageType</key><string>Authenticate</string><key>UDID</key><string>0000-MATRIX</string></dict></plist>',
);

/** The expectation table: route → who may. */
const MATRIX: Record<string, Line> = {
  'GET /health': { may: 'public', why: 'probes', call: () => ({ path: '/health' }) },
  'GET /metrics': {
    may: 'public',
    why: 'Prometheus scrape (loopback/ingress-restricted)',
    call: () => ({ path: '/metrics' }),
  },
  'GET /api/docs': docs('/api/docs'),
  'GET /api/docs/': docs('/api/docs/'),
  'GET /api/docs/index.html': docs('/api/docs/index.html'),
  'GET /api/docs/swagger-ui-init.js': docs('/api/docs/swagger-ui-init.js'),
  'GET /api/docs/docs/swagger-ui-init.js': docs('/api/docs/docs/swagger-ui-init.js'),
  'GET /api/docs/LICENSE': docs('/api/docs/LICENSE'),
  'GET /api/docs-json': docs('/api/docs-json'),
  'GET /api/docs-yaml': docs('/api/docs-yaml'),
  'GET /auth/login': { may: 'public', why: 'starts the browser sign-in', call: () => ({ path: '/auth/login' }) },
  'GET /auth/callback': {
    may: 'public',
    why: 'the identity provider returns here; the code and state authenticate',
    call: () => ({ path: '/auth/callback' }),
  },
  'GET /auth/logout/callback': {
    may: 'public',
    why: "the provider's logout returns here; its state is checked against the browser's cookie",
    call: () => ({ path: '/auth/logout/callback?state=matrix' }),
  },
  'POST /auth/logout': {
    may: 'public',
    why: 'ends the session of the cookie it carries',
    writes: true,
    call: () => ({ path: '/auth/logout' }),
  },
  'GET /apple/enroll/:token': {
    may: 'public',
    why: 'the enrollment link: its unguessable token authenticates',
    call: (f) => ({ path: `/apple/enroll/${f.enrollmentToken}` }),
  },
  'PUT /mdm/checkin': {
    may: 'public',
    why: 'iPhones: authenticated by their device certificate (Mdm-Signature)',
    writes: true,
    call: () => ({ path: '/mdm/checkin', body: plist, type: 'application/x-apple-aspen-mdm-checkin' }),
  },
  'PUT /mdm/server': {
    may: 'public',
    why: 'iPhones: authenticated by their device certificate (Mdm-Signature)',
    writes: true,
    call: () => ({ path: '/mdm/server', body: plist, type: 'application/x-apple-aspen-mdm' }),
  },
  'POST /android/pubsub': {
    may: 'public',
    why: "Google Pub/Sub push: authenticated by Google's OIDC token",
    writes: true,
    call: () => ({
      path: '/android/pubsub',
      body: {
        message: { data: Buffer.from('{}').toString('base64'), messageId: '1' },
        subscription: 'projects/p/subscriptions/s',
      },
    }),
  },

  'GET /me': {
    may: SIGNED_IN,
    sees: { only: ['agent'], count: (b, f) => ((b as { id: string }).id === f.agentId ? 1 : 0) },
    call: () => ({ path: '/me' }),
  },
  'GET /ministries': { may: SIGNED_IN, call: () => ({ path: '/ministries' }) },
  'GET /ministries/:code/agents': {
    may: ['approver', 'it', 'national'],
    call: () => ({ path: '/ministries/interieur/agents' }),
  },
  'GET /agents/:id': { may: ['agent', 'approver', 'it', 'national'], call: (f) => ({ path: `/agents/${f.agentId}` }) },
  'POST /agents/:id/roles': {
    may: ['national'],
    writes: true,
    call: (f) => ({ path: `/agents/${f.otherAgentId}/roles`, body: { role: 'approver', ministry: 'interieur' } }),
  },
  'DELETE /agents/:id/roles/:assignmentId': {
    may: ['national'],
    writes: true,
    call: (f) => ({ path: `/agents/${f.assignmentAgentId}/roles/${f.assignmentId}` }),
  },

  'POST /agents/:id/deactivate': {
    may: ['national'],
    writes: true,
    call: (f) => ({
      path: `/agents/${f.leavingAgentId}/deactivate`,
      body: { reason: 'Départ du ministère (matrice)' },
    }),
  },
  'POST /agents/:id/reactivate': {
    may: ['national'],
    writes: true,
    call: (f) => ({ path: `/agents/${f.leavingAgentId}/reactivate` }),
  },
  // A personal token gives no more than a role one holds: agent of interieur here (national admins are agents of spm).
  'POST /api-tokens': {
    may: ['agent', 'approver', 'it'],
    writes: true,
    call: () => ({
      path: '/api-tokens',
      body: { kind: 'personal', name: 'matrice', role: 'agent', ministry: 'interieur', expiresInDays: 1 },
    }),
  },
  'GET /api-tokens': {
    may: SIGNED_IN,
    sees: {
      only: ['it', 'national'],
      count: (b, f) => rows<{ id: string }>(b).filter((k) => k.id === f.apiTokenId).length,
    },
    call: () => ({ path: '/api-tokens' }),
  },
  'DELETE /api-tokens/:id': {
    may: ['it', 'national'],
    writes: true,
    hidden: true,
    call: (f) => ({ path: `/api-tokens/${f.revocableTokenId}` }),
  },

  'GET /policies': {
    may: SIGNED_IN,
    sees: { only: MEMBERS, count: (b) => rows<{ scope: string }>(b).filter((p) => p.scope === 'interieur').length },
    call: () => ({ path: '/policies' }),
  },
  'GET /policies/:scope': { may: MEMBERS, call: () => ({ path: '/policies/interieur' }) },
  'GET /policies/:scope/versions': { may: MEMBERS, call: () => ({ path: '/policies/interieur/versions' }) },
  'GET /policies/:scope/versions/:version': {
    may: MEMBERS,
    call: (f) => ({ path: `/policies/interieur/versions/${f.versions.first}` }),
  },
  'GET /policies/:scope/diff': {
    may: MEMBERS,
    call: (f) => ({ path: `/policies/interieur/diff?from=${f.versions.first}&to=${f.versions.last}` }),
  },
  // The staged rollout is driven before interieur's policy changes again: a newer change supersedes it.
  'POST /rollouts/:id/pause': {
    may: ['it'],
    writes: true,
    call: (f) => ({ path: `/rollouts/${f.rolloutId}/pause`, body: { reason: 'matrix' } }),
  },
  'POST /rollouts/:id/resume': {
    may: ['it'],
    writes: true,
    call: (f) => ({ path: `/rollouts/${f.rolloutId}/resume` }),
  },
  'POST /rollouts/:id/advance': {
    may: ['it'],
    writes: true,
    call: (f) => ({ path: `/rollouts/${f.rolloutId}/advance` }),
  },
  'POST /rollouts/:id/abort': {
    may: ['it'],
    writes: true,
    call: (f) => ({ path: `/rollouts/${f.rolloutId}/abort`, body: { reason: 'matrix' } }),
  },
  // The saved plan is applied before the policy changes again (a plan made on an older version is stale).
  'GET /policy-plans/:id': { may: MEMBERS, call: (f) => ({ path: `/policy-plans/${f.planId}` }) },
  'POST /policy-plans/:id/apply': {
    may: ['it'],
    writes: true,
    call: (f) => ({ path: `/policy-plans/${f.planId}/apply`, body: {} }),
  },
  'POST /policies/:scope/rollback': {
    may: ['it'],
    writes: true,
    call: (f) => ({ path: '/policies/interieur/rollback', body: { version: f.versions.first, comment: 'matrix' } }),
  },
  'POST /policies/:scope/plan': {
    may: ['it'],
    writes: true,
    call: (f) => ({ path: '/policies/interieur/plan', body: f.planContent }),
  },
  'GET /ministries/:code/effective-policy': {
    may: MEMBERS,
    call: () => ({ path: '/ministries/interieur/effective-policy' }),
  },
  'GET /agents/:id/effective-policy': {
    may: ['agent', 'approver', 'it', 'national'],
    call: (f) => ({ path: `/agents/${f.agentId}/effective-policy` }),
  },
  'GET /devices/:id/effective-policy': {
    may: ['agent', 'approver', 'it', 'national'],
    call: (f) => ({ path: `/devices/${f.deviceId}/effective-policy` }),
  },

  // After the saved plan is applied: a catalog change makes every plan made before it stale.
  'GET /catalog/apps': { may: SIGNED_IN, call: () => ({ path: '/catalog/apps' }) },
  'GET /catalog/apps/:slug': { may: SIGNED_IN, call: () => ({ path: '/catalog/apps/tiktok' }) },
  'POST /catalog/apps': {
    may: ['national'],
    writes: true,
    call: () => ({
      path: '/catalog/apps',
      body: { slug: 'matrix-app', name: 'Matrix', category: 'productivity', android: ['fr.example.matrix'], ios: [] },
    }),
  },

  'GET /me/devices': {
    may: SIGNED_IN,
    sees: { only: ['agent'], count: (b, f) => rows<{ id: string }>(b).filter((d) => d.id === f.deviceId).length },
    call: () => ({ path: '/me/devices' }),
  },
  'GET /ministries/:code/devices': {
    may: ['approver', 'it', 'national'],
    call: () => ({ path: '/ministries/interieur/devices' }),
  },
  'GET /devices/:id/commands': {
    may: ['agent', 'approver', 'it', 'national'],
    call: (f) => ({ path: `/devices/${f.deviceId}/commands` }),
  },
  'GET /devices/:id': {
    may: ['agent', 'approver', 'it', 'national'],
    call: (f) => ({ path: `/devices/${f.deviceId}` }),
  },
  // Lock before retire: a retired phone can no longer be locked.
  'POST /devices/:id/lock': {
    may: ['it', 'national'],
    writes: true,
    call: (f) => ({ path: `/devices/${f.androidDeviceId}/lock` }),
  },
  'POST /devices/:id/retire': {
    may: ['it', 'national'],
    writes: true,
    call: (f) => ({ path: `/devices/${f.androidDeviceId}/retire`, body: { reason: 'Matrice des accès' } }),
  },
  'POST /devices/:id/reassign': {
    may: ['it', 'national'],
    writes: true,
    call: (f) => ({ path: `/devices/${f.otherDeviceId}/reassign`, body: { agentId: f.otherAgentId } }),
  },

  'GET /me/notifications': {
    may: SIGNED_IN,
    sees: { only: ['agent'], count: (b, f) => rows<{ id: string }>(b).filter((n) => n.id === f.notificationId).length },
    call: () => ({ path: '/me/notifications' }),
  },
  'POST /me/notifications/:id/read': {
    may: ['agent'],
    hidden: true,
    call: (f) => ({ path: `/me/notifications/${f.notificationId}/read` }),
  },

  'POST /exemptions': {
    may: SIGNED_IN,
    writes: true,
    call: () => ({ path: '/exemptions', body: { app: 'pinterest', justification: JUSTIFICATION, days: 30 } }),
  },
  'GET /me/exemptions': {
    may: SIGNED_IN,
    sees: {
      only: ['agent'],
      count: (b, f) => rows<{ agent: { id: string } }>(b).filter((e) => e.agent.id === f.agentId).length,
    },
    call: () => ({ path: '/me/exemptions' }),
  },
  'GET /exemptions/:id': {
    may: ['agent', 'approver', 'national'],
    call: (f) => ({ path: `/exemptions/${f.pending.get}` }),
  },
  'POST /exemptions/:id/approve': {
    may: ['approver'],
    writes: true,
    call: (f) => ({ path: `/exemptions/${f.pending.approve}/approve`, body: {} }),
  },
  'POST /exemptions/:id/deny': {
    may: ['approver'],
    writes: true,
    call: (f) => ({ path: `/exemptions/${f.pending.deny}/deny`, body: { reason: 'Pas de besoin institutionnel.' } }),
  },
  'POST /exemptions/:id/revoke': {
    may: ['approver'],
    writes: true,
    call: (f) => ({ path: `/exemptions/${f.approved.revoke}/revoke`, body: { reason: 'Mission terminée.' } }),
  },
  'POST /exemptions/:id/cancel': {
    may: ['agent'],
    writes: true,
    call: (f) => ({ path: `/exemptions/${f.pending.cancel}/cancel` }),
  },
  'POST /exemptions/:id/renew': {
    may: ['agent'],
    writes: true,
    call: (f) => ({ path: `/exemptions/${f.approved.renew}/renew`, body: { justification: JUSTIFICATION } }),
  },
  'GET /ministries/:code/exemptions': {
    may: ['approver', 'national'],
    call: () => ({ path: '/ministries/interieur/exemptions' }),
  },
  'GET /ministries/:code/exemption-register': {
    may: ['approver', 'national'],
    call: () => ({ path: '/ministries/interieur/exemption-register' }),
  },
  'GET /ministries/:code/exemption-register.csv': {
    may: ['approver', 'national'],
    call: () => ({ path: '/ministries/interieur/exemption-register.csv' }),
  },

  // Filtered to what the caller may see: an IT admin of armees sees no rollout of interieur.
  'GET /rollouts': {
    may: ['it', 'national', 'it@armees'],
    sees: { only: ['it', 'national'], count: (b) => rows(b).length },
    call: () => ({ path: '/rollouts?scope=interieur' }),
  },
  'GET /rollouts/:id': { may: ['it', 'national'], call: (f) => ({ path: `/rollouts/${f.rolloutId}` }) },
  'GET /ministries/:code/rollout-status': {
    may: ['it', 'national'],
    call: () => ({ path: '/ministries/interieur/rollout-status' }),
  },

  // Compliance: all ministries for national admins; a ministry's own figures for its IT and digital directorate.
  'GET /compliance/national': { may: ['national'], call: () => ({ path: '/compliance/national' }) },
  'GET /compliance/ministries/:code': {
    may: ['approver', 'it', 'national'],
    call: () => ({ path: '/compliance/ministries/interieur' }),
  },
  'GET /compliance/apps': {
    may: ['approver', 'it', 'national'],
    call: () => ({ path: '/compliance/apps?ministry=interieur' }),
  },
  'GET /compliance/trend': {
    may: ['approver', 'it', 'national'],
    call: () => ({ path: '/compliance/trend?ministry=interieur' }),
  },
  'GET /compliance/exemptions': { may: ['national'], call: () => ({ path: '/compliance/exemptions' }) },
  'GET /compliance/export.json': {
    may: ['approver', 'it', 'national'],
    call: () => ({ path: '/compliance/export.json?dataset=ministries&ministry=interieur' }),
  },
  'GET /compliance/export.csv': { may: ['national'], call: () => ({ path: '/compliance/export.csv?dataset=apps' }) },

  'GET /audit': { may: ['approver', 'it', 'national'], call: () => ({ path: '/audit?ministry=interieur' }) },
  'GET /audit/verify': { may: ['national'], call: () => ({ path: '/audit/verify' }) },
  // A signed checkpoint of the chain, for national admins to keep; and a verification against one they kept.
  'POST /audit/checkpoints': { may: ['national'], call: () => ({ path: '/audit/checkpoints' }) },
  'POST /audit/verify': { may: ['national'], call: (f) => ({ path: '/audit/verify', body: f.auditCheckpoint }) },

  'GET /ministries/:code/android/enterprise': {
    may: ['approver', 'it', 'national'],
    call: () => ({ path: '/ministries/interieur/android/enterprise' }),
  },
  'PUT /ministries/:code/android/enterprise': {
    may: ['it', 'national'],
    writes: true,
    call: () => ({ path: '/ministries/interieur/android/enterprise', body: { enterpriseName: ENTERPRISE } }),
  },
  // Completes the signup started before the matrix (a newer signup would supersede it).
  'GET /android/signup-callback': {
    may: ['it', 'national'],
    writes: true,
    call: (f) => ({ path: `/android/signup-callback?ministry=interieur&enterpriseToken=${f.enterpriseToken}` }),
  },
  'POST /ministries/:code/android/signup': {
    may: ['it', 'national'],
    writes: true,
    call: () => ({
      path: '/ministries/interieur/android/signup',
      body: { callbackUrl: 'https://mdm.example.gouv.fr/android/signup-callback' },
    }),
  },
  'POST /ministries/:code/android/enrollment-tokens': {
    may: ['it', 'national'],
    writes: true,
    call: () => ({ path: '/ministries/interieur/android/enrollment-tokens', body: { durationMinutes: 60 } }),
  },
  'POST /ministries/:code/android/reconcile': {
    may: ['it', 'national'],
    writes: true,
    call: () => ({ path: '/ministries/interieur/android/reconcile' }),
  },
  'GET /ministries/:code/android/health': {
    may: ['approver', 'it', 'national'],
    call: () => ({ path: '/ministries/interieur/android/health' }),
  },
  'GET /ministries/:code/android/unknown-devices': {
    may: ['approver', 'it', 'national'],
    call: () => ({ path: '/ministries/interieur/android/unknown-devices' }),
  },

  // The token first: it is encrypted to the certificate made before the matrix, which the next line replaces.
  'PUT /ministries/:code/apple/abm/token': {
    may: ['it', 'national'],
    writes: true,
    call: (f) => ({ path: '/ministries/interieur/apple/abm/token', body: { token: f.abmToken } }),
  },
  'POST /ministries/:code/apple/abm/certificate': {
    may: ['it', 'national'],
    writes: true,
    call: () => ({ path: '/ministries/interieur/apple/abm/certificate' }),
  },
  'GET /ministries/:code/apple/abm': {
    may: ['it', 'national'],
    call: () => ({ path: '/ministries/interieur/apple/abm' }),
  },
  'POST /ministries/:code/apple/abm/sync': {
    may: ['it', 'national'],
    writes: true,
    call: () => ({ path: '/ministries/interieur/apple/abm/sync' }),
  },
  'GET /ministries/:code/apple/abm/devices': {
    may: ['it', 'national'],
    call: () => ({ path: '/ministries/interieur/apple/abm/devices' }),
  },
  'POST /apple/ade/:code/enroll': {
    may: 'public',
    why: "a phone's first boot: its machine information, signed by Apple's device key, authenticates",
    call: () => ({
      path: '/apple/ade/interieur/enroll',
      body: Buffer.from('not signed'),
      type: 'application/pkcs7-signature',
    }),
  },
  'GET /apple/scep': {
    may: 'public',
    why: 'SCEP: the CA certificate and capabilities are public; a certificate needs the one-time challenge inside the request',
    call: () => ({ path: '/apple/scep?operation=GetCACaps' }),
  },
  'POST /apple/scep': {
    may: 'public',
    why: 'SCEP: the one-time challenge inside the signed, encrypted request authorises the certificate',
    writes: true,
    call: () => ({
      path: '/apple/scep?operation=PKIOperation',
      body: Buffer.from('not a SCEP message'),
      type: 'application/x-pki-message',
    }),
  },
  'PUT /ministries/:code/apple/vpp/token': {
    may: ['it', 'national'],
    writes: true,
    call: (f) => ({ path: '/ministries/interieur/apple/vpp/token', body: { sToken: f.vppToken } }),
  },
  'GET /ministries/:code/apple/vpp': {
    may: ['it', 'national'],
    call: () => ({ path: '/ministries/interieur/apple/vpp' }),
  },
  'POST /ministries/:code/apple/vpp/sync': {
    may: ['it', 'national'],
    writes: true,
    call: () => ({ path: '/ministries/interieur/apple/vpp/sync' }),
  },
  'PUT /ministries/:code/apple/vpp/assets/:adamId': {
    may: ['it', 'national'],
    writes: true,
    call: () => ({
      path: `/ministries/interieur/apple/vpp/assets/${TCHAP_ADAM_ID}`,
      body: { bundleId: 'fr.gouv.tchap' },
    }),
  },

  'PUT /apple/push-certificate': {
    may: ['national'],
    writes: true,
    call: (f) => ({ path: '/apple/push-certificate', body: f.push }),
  },
  // National, and every ministry's IT (they enroll iPhones with it): a topic and an expiry date, no secret.
  'GET /apple/push-certificate': {
    may: ['it', 'national', 'it@armees'],
    call: () => ({ path: '/apple/push-certificate' }),
  },
  'POST /ministries/:code/apple/enrollment-links': {
    may: ['it', 'national'],
    writes: true,
    call: () => ({ path: '/ministries/interieur/apple/enrollment-links', body: { expiresInHours: 24 } }),
  },
  'GET /ministries/:code/apple/enrollment-links': {
    may: ['it', 'national'],
    call: () => ({ path: '/ministries/interieur/apple/enrollment-links' }),
  },
  'DELETE /ministries/:code/apple/enrollment-links/:id': {
    may: ['it', 'national'],
    writes: true,
    call: (f) => ({ path: `/ministries/interieur/apple/enrollment-links/${f.enrollmentLinkId}` }),
  },
};

let t: TestApp;
let fake: FakeAmapi;
let abm: FakeAbm;
let appsAndBooks: FakeAppsAndBooks;
let f: Fixtures;
const tokens = new Map<Caller, string>();

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

async function send(caller: Caller, method: Method, call: Call): Promise<request.Response> {
  let test = request(t.app.getHttpServer())[method](call.path);
  const token = tokens.get(caller);
  if (token) test = test.set('Authorization', `Bearer ${token}`);
  if (call.type) test = test.set('Content-Type', call.type);
  return call.body === undefined ? test : test.send(call.body);
}

/** What the router serves, as "METHOD /path" (HEAD is implied by GET). */
function registeredRoutes(): string[] {
  // Express 5's router: one layer per registered route, with its path and methods.
  const app = t.app.getHttpAdapter().getInstance() as {
    router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
  };
  return app.router.stack.flatMap((layer) =>
    layer.route
      ? Object.keys(layer.route.methods)
          .filter((m) => m !== '_all')
          .map((m) => `${m.toUpperCase()} ${layer.route?.path}`)
      : [],
  );
}

async function idOf(login: string): Promise<string> {
  return ((await (await t.as(login)).get('/me').expect(200)).body as { id: string }).id;
}

async function requestExemption(login: string, app: string): Promise<string> {
  return (
    (await (await t.as(login)).post('/exemptions').send({ app, justification: JUSTIFICATION, days: 30 }).expect(201))
      .body as { id: string }
  ).id;
}

beforeAll(async () => {
  fake = await startFakeAmapi({
    enterprises: [ENTERPRISE],
    projectId: 'mdm-etat',
    autoApply: true,
    autoApplyDelayMs: 5,
  });
  abm = await startFakeAbm({ serverName: 'MDM Intérieur', orgName: 'Ministère de l’Intérieur' });
  appsAndBooks = await startFakeAppsAndBooks();
  appsAndBooks.addAsset(TCHAP_ADAM_ID, 10);
  const ca = createTestCa('Apple Sim Root CA');
  const push = createMdmPushCertificate(ca);
  t = await startTestApp({
    browserLogin: { publicUrl: 'http://127.0.0.1:3000' },
    android: fakeAmapiSettings(fake),
    apple: {
      serverBaseUrl: 'https://127.0.0.1:3000',
      apnsHost: '127.0.0.1',
      apnsPort: 9,
      apnsCaPem: ca.certPem,
      identityFrom: 'signature',
      proxyCertHeader: 'X-Client-Certificate',
      abmUrl: abm.url,
      appsBooksUrl: appsAndBooks.url,
    },
  });
  for (const [caller, login] of Object.entries(CALLERS) as [Caller, string | null][])
    if (login) tokens.set(caller, await t.token(login));

  const national = await t.as('admin.national');
  const it = await t.as('it.interieur');
  const approver = await t.as('approver.interieur');
  const agentId = await idOf('agent.interieur');
  const [other] = (await t.db.query(`SELECT id FROM agent WHERE sub = 'demo-synthetic-interieur-1'`)) as {
    id: string;
  }[];
  const [assignee] = (await t.db.query(`SELECT id FROM agent WHERE sub = 'demo-synthetic-interieur-2'`)) as {
    id: string;
  }[];
  const [leaving] = (await t.db.query(`SELECT id FROM agent WHERE sub = 'demo-synthetic-interieur-3'`)) as {
    id: string;
  }[];
  const serviceToken = async (name: string) =>
    (
      (
        await it
          .post('/api-tokens')
          .send({ kind: 'service', name, role: 'it-admin', ministry: 'interieur', expiresInDays: 30 })
          .expect(201)
      ).body as { id: string }
    ).id;
  const granted = await national
    .post(`/agents/${assignee.id}/roles`)
    .send({ role: 'it-admin', ministry: 'interieur' })
    .expect(201);
  const assignment = (granted.body as { roles: { id: string; role: string }[] }).roles.find(
    (r) => r.role === 'it-admin',
  );
  const devices = (await (await t.as('agent.interieur')).get('/me/devices').expect(200)).body as { id: string }[];
  const [otherDevice] = (await t.db.query(
    `SELECT id FROM device WHERE ministry_code = 'interieur' AND agent_id <> $1 AND unenrolled_at IS NULL LIMIT 1`,
    [agentId],
  )) as { id: string }[];

  const pending = {
    get: await requestExemption('agent.interieur', 'tiktok'),
    approve: await requestExemption('agent.interieur', 'instagram'),
    deny: await requestExemption('agent.interieur', 'facebook'),
    cancel: await requestExemption('agent.interieur', 'snapchat'),
  };
  const approved = {
    revoke: await requestExemption('agent.interieur', 'reddit'),
    renew: await requestExemption('agent.interieur', 'threads'),
  };
  for (const id of Object.values(approved)) await approver.post(`/exemptions/${id}/approve`).send({}).expect(200);
  const [notification] = (await t.db.query(
    `SELECT id FROM notification WHERE agent_id = $1 ORDER BY created_at DESC LIMIT 1`,
    [agentId],
  )) as { id: string }[];

  const versions = ((await it.get('/policies/interieur/versions').expect(200)).body as { version: number }[]).map(
    (v) => v.version,
  );
  const current = (await it.get('/policies/interieur').expect(200)).body as { content: { rules: object[] } };
  const planContent = {
    ...current.content,
    rules: [
      ...current.content.rules,
      { app: 'onedrive', action: 'block', exemptable: false, legalBasis: 'Matrice des accès' },
    ],
  };
  const firstPlan = (await it.post('/policies/interieur/plan').send(planContent).expect(201)).body as { id: string };
  // Staged, so that it can be paused, resumed and advanced; prepared as the worker would (released to its first stage).
  const applied = (
    await it
      .post(`/policy-plans/${firstPlan.id}/apply`)
      .send({ stages: [10, 100], stageWaitMinutes: 600 })
      .expect(200)
  ).body as {
    applied: { rolloutId: string }[];
  };
  await t.app.get(RolloutEngine).prepare(applied.applied[0].rolloutId);
  // A second plan, left for the matrix to read and apply.
  const planContent2 = {
    ...planContent,
    rules: [
      ...planContent.rules,
      { app: 'nextcloud', action: 'block', exemptable: false, legalBasis: 'Matrice des accès' },
    ],
  };
  const plan = (await it.post('/policies/interieur/plan').send(planContent2).expect(201)).body as { id: string };

  await it.put('/ministries/interieur/android/enterprise').send({ enterpriseName: ENTERPRISE }).expect(200);
  // A phone enrolled on Google's side (no Pub/Sub here: its row is written as the enrollment notice would).
  const androidToken = (
    await it.post('/ministries/interieur/android/enrollment-tokens').send({ durationMinutes: 60 }).expect(201)
  ).body as { value: string };
  const androidPhone = await fake.enroll({ enrollmentTokenValue: androidToken.value });
  const androidDeviceId = await t.db.transaction((tx) =>
    t.app.get(DeviceStateService).enroll(tx, {
      platform: 'android',
      ownership: 'company',
      agentId: null,
      ministry: 'interieur',
      displayName: 'Pixel de la matrice',
      model: null,
      androidDeviceName: androidPhone.name,
    }),
  );
  // The token published interieur's policy in ENTERPRISE; the signup line later binds interieur to a new
  // enterprise, where the enrollment-token line finds it published again (binding elsewhere republishes).
  const signup = (
    await it
      .post('/ministries/interieur/android/signup')
      .send({ callbackUrl: 'https://mdm.example.gouv.fr/android/signup-callback' })
      .expect(201)
  ).body as { url: string };
  const back = new URL((await fetch(signup.url, { redirect: 'manual' })).headers.get('location') as string);

  await national
    .put('/apple/push-certificate')
    .send({ certificatePem: push.certPem, privateKeyPem: push.keyPem })
    .expect(200);
  const link = (await it.post('/ministries/interieur/apple/enrollment-links').send({ expiresInHours: 24 }).expect(201))
    .body as { url: string };
  const revocableLink = (
    await it.post('/ministries/interieur/apple/enrollment-links').send({ expiresInHours: 24 }).expect(201)
  ).body as { id: string };

  f = {
    agentId,
    otherAgentId: other.id,
    deviceId: devices[0].id,
    otherDeviceId: otherDevice.id,
    assignmentId: assignment?.id ?? '',
    assignmentAgentId: assignee.id,
    pending,
    approved,
    notificationId: notification.id,
    versions: { first: Math.min(...versions), last: Math.max(...versions) },
    planContent: {
      ...planContent2,
      rules: [
        ...planContent2.rules,
        { app: 'adobe-acrobat', action: 'block', exemptable: false, legalBasis: 'Matrice des accès' },
      ],
    },
    planId: plan.id,
    rolloutId: applied.applied[0].rolloutId,
    enrollmentToken: new URL(link.url).pathname.split('/').pop() ?? '',
    enrollmentLinkId: revocableLink.id,
    auditCheckpoint: (await national.post('/audit/checkpoints').expect(201)).body as object,
    enterpriseToken: back.searchParams.get('enterpriseToken') ?? '',
    push: { certificatePem: push.certPem, privateKeyPem: push.keyPem },
    apiTokenId: await serviceToken('Pipeline de la matrice'),
    revocableTokenId: await serviceToken('Pipeline à révoquer'),
    leavingAgentId: leaving.id,
    androidDeviceId,
    abmToken: abm.issueServerToken(
      (await it.post('/ministries/interieur/apple/abm/certificate').expect(201)).body.certificatePem as string,
    ),
    vppToken: appsAndBooks.issueToken('Intérieur — licences'),
  };
});

afterAll(async () => {
  await t.close();
  await fake.stop();
  await abm.stop();
  await appsAndBooks.stop();
});

describe('access matrix', () => {
  it('has a line for every route the application serves, and no line for a route it does not', () => {
    const routes = registeredRoutes();
    const missing = routes
      .filter((r) => !(r in MATRIX))
      .map((r) => `${r}: no line in MATRIX (api/test/access-matrix.e2e-spec.ts) says who may call it`);
    const stale = Object.keys(MATRIX)
      .filter((r) => !routes.includes(r))
      .map((r) => `${r}: in MATRIX but not served any more`);
    expect([...missing, ...stale]).toEqual([]);
  });

  it.each(Object.keys(MATRIX))('%s', async (route) => {
    const line = MATRIX[route];
    const [verb] = route.split(' ');
    const method = verb.toLowerCase() as Method;
    const call = line.call(f);
    const problems: string[] = [];
    const callers = Object.keys(CALLERS) as Caller[];

    if (line.may === 'public') {
      // No bearer token involved: whoever calls gets what anonymous gets, never a server error.
      const anonymous = await send('anonymous', method, call);
      if (anonymous.status >= 500) problems.push(`anonymous: ${anonymous.status} ${JSON.stringify(anonymous.body)}`);
      for (const caller of SIGNED_IN) {
        const audit = await countRows(t.db, 'audit_event');
        const res = await send(caller, method, call);
        if (res.status !== anonymous.status)
          problems.push(`${caller}: ${res.status}, anonymous got ${anonymous.status}`);
        if (line.writes && res.status >= 400 && (await countRows(t.db, 'audit_event')) !== audit)
          problems.push(`${caller}: refused with ${res.status} but the audit log changed`);
      }
      expect(problems).toEqual([]);
      return;
    }

    const granted = line.may;
    const denied = callers.filter((c) => !granted.includes(c));
    // Refusals first: the resources are still in the state a grant would act on.
    for (const caller of denied) {
      const audit = line.writes ? await countRows(t.db, 'audit_event') : 0;
      const res = await send(caller, method, call);
      const expected = caller === 'anonymous' ? 401 : line.hidden ? 404 : 403;
      if (res.status !== expected)
        problems.push(
          `${caller} (${CALLERS[caller] ?? 'no token'}): expected ${expected}, got ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`,
        );
      if (line.writes && (await countRows(t.db, 'audit_event')) !== audit)
        problems.push(`${caller}: refused, but an audit event was written`);
    }
    let first = true;
    for (const caller of granted) {
      const res = await send(caller, method, call);
      const ok = first ? res.status < 400 : res.status < 500 && res.status !== 401 && res.status !== 403;
      if (!ok)
        problems.push(
          `${caller} (${CALLERS[caller]}): expected ${first ? 'success' : 'a grant'}, got ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`,
        );
      if (line.sees) {
        const count = line.sees.count(res.body, f);
        const should = line.sees.only.includes(caller);
        if (should ? count === 0 : count > 0)
          problems.push(
            `${caller} (${CALLERS[caller]}): ${should ? 'does not see' : 'sees'} interieur's rows (${count})`,
          );
      }
      first = false;
    }
    expect(problems).toEqual([]);
  });

  it('refuses a body or query that points into another ministry, and writes nothing', async () => {
    const audit = await countRows(t.db, 'audit_event');
    const armeesAgent = await idOf('agent.armees');
    const [armeesDevice] = (await t.db.query(
      `SELECT id FROM device WHERE ministry_code = 'armees' AND unenrolled_at IS NULL LIMIT 1`,
    )) as { id: string }[];
    const national = (await send('it', 'get', { path: '/policies/national' })).body as { content: { rules: object[] } };
    const attempts: [Caller, Method, Call, number][] = [
      // An IT admin of interieur gives an interieur phone to an agent of armees.
      ['it', 'post', { path: `/devices/${f.otherDeviceId}/reassign`, body: { agentId: armeesAgent } }, 403],
      // Enrollment bound to another ministry's agent: no such agent in interieur.
      [
        'it',
        'post',
        { path: '/ministries/interieur/apple/enrollment-links', body: { agentId: armeesAgent, expiresInHours: 24 } },
        404,
      ],
      [
        'it',
        'post',
        {
          path: '/ministries/interieur/android/enrollment-tokens',
          body: { agentId: armeesAgent, durationMinutes: 60 },
        },
        404,
      ],
      // An exemption asked for someone else's phone.
      [
        'agent',
        'post',
        {
          path: '/exemptions',
          body: { app: 'bereal', justification: JUSTIFICATION, days: 30, deviceId: armeesDevice.id },
        },
        404,
      ],
      // The national baseline, or the audit log of another ministry, from a ministry's IT.
      ['it', 'post', { path: '/policies/national/plan', body: national.content }, 403],
      ['it', 'post', { path: '/policies/national/rollback', body: { version: 1 } }, 403],
      ['it', 'get', { path: '/audit?ministry=armees' }, 403],
      ['approver', 'get', { path: '/audit?ministry=armees' }, 403],
    ];
    const problems: string[] = [];
    for (const [caller, method, call, expected] of attempts) {
      const res = await send(caller, method, call);
      if (res.status !== expected)
        problems.push(
          `${caller} ${method.toUpperCase()} ${call.path}: expected ${expected}, got ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`,
        );
    }
    expect(problems).toEqual([]);
    expect(await countRows(t.db, 'audit_event')).toBe(audit);
  });

  it("leaves someone else's notification unread (404, as for an id that does not exist)", async () => {
    const [unread] = (await t.db.query(`SELECT id FROM notification WHERE agent_id = $1 AND read_at IS NULL LIMIT 1`, [
      f.agentId,
    ])) as { id: string }[];
    expect(unread).toBeDefined();
    for (const caller of SIGNED_IN.filter((c) => c !== 'agent'))
      expect((await send(caller, 'post', { path: `/me/notifications/${unread.id}/read` })).status).toBe(404);
    expect(await t.db.query(`SELECT read_at FROM notification WHERE id = $1`, [unread.id])).toEqual([
      { read_at: null },
    ]);
    expect((await send('agent', 'post', { path: `/me/notifications/${unread.id}/read` })).status).toBe(204);
  });
});
