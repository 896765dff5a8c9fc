/**
 * The fuzz targets: the JSON API's endpoints with the fixtures their paths need, the Apple MDM
 * check-in and command channels (a real enrolled device whose messages and signatures are
 * mutated), and the policy YAML (loader function and API). Shared by api/test/fuzz-*.e2e-spec.ts
 * and bench/fuzz.bench.ts.
 */
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { stringify } from 'yaml';
import { signAttached, signDetached, verifyDetachedSignature } from '../../../tools/apple-sim/cms';
import { buildPlist, parseMobileconfig, payloadsOf, PlistDict } from '../../../tools/apple-sim/mobileconfig';
import {
  createIdentity,
  createMdmPushCertificate,
  createTestCa,
  identityFromPkcs12,
} from '../../../tools/apple-sim/pki';
import { EndpointSpec, Fixtures, FuzzRequest, oddString } from './fuzz';

/** What the targets need from a running service: in-process HTTP, its database, tokens of the demo logins. */
export interface FuzzHost {
  server: Server;
  db: DataSource;
  token: (login: string) => Promise<string>;
}

/**
 * A browser sign-in being started (GET /auth/login) records its state, and a call to Google spends
 * from the Android Management API's quota bucket (rate_limit): the endpoints' job, not a write of the
 * fuzzed input.
 */
export const LOGIN_STATE = { login_attempt: ['*'], rate_limit: ['*'] };

export const FUZZ_LOGINS = ['agent.interieur', 'approver.interieur', 'it.interieur', 'admin.national'];

export async function tokensFor(host: FuzzHost): Promise<Map<string, string>> {
  const tokens = new Map<string, string>();
  for (const login of FUZZ_LOGINS) tokens.set(login, await host.token(login));
  return tokens;
}

function as(host: FuzzHost, tokens: Map<string, string>, login: string) {
  const auth = `Bearer ${tokens.get(login) ?? ''}`;
  return {
    get: (path: string) => request(host.server).get(path).set('Authorization', auth),
    post: (path: string) => request(host.server).post(path).set('Authorization', auth),
    put: (path: string) => request(host.server).put(path).set('Authorization', auth),
  };
}

async function firstId(db: DataSource, sql: string): Promise<string> {
  const rows = (await db.query(sql)) as { id: string }[];
  return rows[0]?.id ?? randomUUID();
}

/** Uploads an MDM push certificate (needed before any Apple enrollment). */
export async function uploadPushCertificate(host: FuzzHost, tokens: Map<string, string>): Promise<void> {
  const push = createMdmPushCertificate(createTestCa('Apple Sim Root CA'));
  await as(host, tokens, 'admin.national')
    .put('/apple/push-certificate')
    .send({ certificatePem: push.certPem, privateKeyPem: push.keyPem })
    .expect(200);
}

export const JUSTIFICATION = 'Compte officiel du ministère pour la communication de crise';

/** Every write endpoint of the API with a valid body and the fields it checks; reads with their query parameters. */
export const API_ENDPOINTS: EndpointSpec[] = [
  {
    name: 'POST /exemptions',
    method: 'post',
    path: '/exemptions',
    login: 'agent.interieur',
    body: (fx) => ({ app: 'x', deviceId: fx.device, justification: JUSTIFICATION, days: 30 }),
    fields: [
      { name: 'app', kind: 'string', required: true },
      { name: 'deviceId', kind: 'uuid', required: false },
      { name: 'justification', kind: 'string', required: true },
      { name: 'days', kind: 'int', required: true },
    ],
  },
  {
    name: 'POST /exemptions/:id/approve',
    method: 'post',
    path: '/exemptions/{exemption}/approve',
    login: 'approver.interieur',
    body: () => ({ days: 10, reason: 'Besoin confirmé par le service' }),
    fields: [
      { name: 'days', kind: 'int', required: false },
      { name: 'reason', kind: 'string', required: false },
    ],
  },
  {
    name: 'POST /exemptions/:id/deny',
    method: 'post',
    path: '/exemptions/{exemption}/deny',
    login: 'approver.interieur',
    body: () => ({ reason: 'Pas de besoin institutionnel' }),
    fields: [{ name: 'reason', kind: 'string', required: true }],
  },
  {
    name: 'POST /exemptions/:id/revoke',
    method: 'post',
    path: '/exemptions/{exemption}/revoke',
    login: 'approver.interieur',
    body: () => ({ reason: 'Fin de la mission' }),
    fields: [{ name: 'reason', kind: 'string', required: true }],
  },
  {
    name: 'POST /exemptions/:id/cancel',
    method: 'post',
    path: '/exemptions/{exemption}/cancel',
    login: 'agent.interieur',
  },
  {
    name: 'POST /exemptions/:id/renew',
    method: 'post',
    path: '/exemptions/{exemption}/renew',
    login: 'agent.interieur',
    body: () => ({ justification: JUSTIFICATION }),
    fields: [{ name: 'justification', kind: 'string', required: false }],
  },
  {
    name: 'POST /me/notifications/:id/read',
    method: 'post',
    path: '/me/notifications/{notification}/read',
    login: 'agent.interieur',
  },
  {
    name: 'POST /policies/:scope/plan (JSON)',
    method: 'post',
    path: '/policies/{scope}/plan',
    login: 'it.interieur',
    body: (fx) => ({ ...(JSON.parse(fx.policyContent) as Record<string, unknown>), comment: 'fuzz' }),
    fields: [
      { name: 'mode', kind: 'enum', required: true },
      { name: 'rules', kind: 'array', required: true },
      { name: 'description', kind: 'string', required: false },
      { name: 'comment', kind: 'string', required: false },
    ],
  },
  {
    name: 'POST /policies/:scope/rollback',
    method: 'post',
    path: '/policies/{scope}/rollback',
    login: 'it.interieur',
    body: () => ({ version: 1, comment: 'retour arrière' }),
    fields: [
      { name: 'version', kind: 'int', required: true },
      { name: 'comment', kind: 'string', required: false },
    ],
  },
  {
    name: 'POST /policy-plans/:id/apply',
    method: 'post',
    path: '/policy-plans/{plan}/apply',
    login: 'it.interieur',
    body: () => ({ stages: [10, 100], stageWaitMinutes: 30 }),
    fields: [
      { name: 'stages', kind: 'array', required: false },
      { name: 'stageWaitMinutes', kind: 'int', required: false },
    ],
  },
  {
    name: 'POST /catalog/apps',
    method: 'post',
    path: '/catalog/apps',
    login: 'admin.national',
    body: () => ({
      slug: 'fuzz-app',
      name: 'Fuzz',
      category: 'social',
      publisher: 'Fuzz SA',
      android: ['com.fuzz.app'],
      ios: ['com.fuzz.ios'],
      web: 'https://fuzz.example',
    }),
    fields: [
      { name: 'slug', kind: 'string', required: true },
      { name: 'name', kind: 'string', required: true },
      { name: 'category', kind: 'enum', required: true },
      { name: 'publisher', kind: 'string', required: false },
      { name: 'android', kind: 'string-array', required: true },
      { name: 'ios', kind: 'string-array', required: true },
      { name: 'web', kind: 'url', required: false },
    ],
  },
  {
    name: 'POST /agents/:id/roles',
    method: 'post',
    path: '/agents/{agent}/roles',
    login: 'admin.national',
    body: () => ({ role: 'approver', ministry: 'interieur' }),
    fields: [
      { name: 'role', kind: 'enum', required: true },
      { name: 'ministry', kind: 'string', required: false },
    ],
  },
  {
    name: 'DELETE /agents/:id/roles/:assignment',
    method: 'delete',
    path: '/agents/{agent}/roles/{assignment}',
    login: 'admin.national',
  },
  {
    name: 'PUT /apple/push-certificate',
    method: 'put',
    path: '/apple/push-certificate',
    login: 'admin.national',
    body: () => ({
      certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      privateKeyPem: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n',
    }),
    fields: [
      { name: 'certificatePem', kind: 'string', required: true },
      { name: 'privateKeyPem', kind: 'string', required: true },
    ],
  },
  {
    name: 'POST /ministries/:code/apple/enrollment-links',
    method: 'post',
    path: '/ministries/{ministry}/apple/enrollment-links',
    login: 'it.interieur',
    body: (fx) => ({ agentId: fx.agent, expiresInHours: 24, devices: 1 }),
    fields: [
      { name: 'agentId', kind: 'uuid', required: false },
      { name: 'expiresInHours', kind: 'int-coerced', required: false },
      { name: 'devices', kind: 'int', required: false },
    ],
  },
  {
    name: 'DELETE /ministries/:code/apple/enrollment-links/:id',
    method: 'delete',
    path: '/ministries/{ministry}/apple/enrollment-links/{enrollmentLink}',
    login: 'it.interieur',
  },
  {
    name: 'GET /ministries/:code/apple/enrollment-links',
    method: 'get',
    path: '/ministries/{ministry}/apple/enrollment-links',
    login: 'it.interieur',
    read: true,
  },
  {
    name: 'POST /ministries/:code/android/enrollment-tokens',
    method: 'post',
    path: '/ministries/{ministry}/android/enrollment-tokens',
    login: 'it.interieur',
    body: (fx) => ({ agentId: fx.agent, durationMinutes: 60, personalUsage: 'allowed', oneTimeOnly: true }),
    fields: [
      { name: 'agentId', kind: 'uuid', required: false },
      { name: 'durationMinutes', kind: 'int-coerced', required: false },
      { name: 'personalUsage', kind: 'enum', required: false },
      { name: 'oneTimeOnly', kind: 'bool', required: false },
    ],
  },
  {
    name: 'PUT /ministries/:code/android/enterprise',
    method: 'put',
    path: '/ministries/{ministry}/android/enterprise',
    login: 'it.interieur',
    body: () => ({ enterpriseName: 'enterprises/LC0interieur' }),
    fields: [{ name: 'enterpriseName', kind: 'string', required: true }],
    // An enterprise serves one ministry: binding one that another ministry holds is a 409, not a unique violation.
    conflicts: (fx) => [{ enterpriseName: fx.boundElsewhere }],
  },
  {
    name: 'POST /ministries/:code/android/signup',
    method: 'post',
    path: '/ministries/{ministry}/android/signup',
    login: 'it.interieur',
    body: () => ({ callbackUrl: 'https://mdm.example.gouv.fr/android/signup-callback' }),
    fields: [{ name: 'callbackUrl', kind: 'url', required: true }],
  },
  {
    // Public, authenticated by Google's OIDC token: without one, whatever the body, nothing is done.
    name: 'POST /android/pubsub',
    method: 'post',
    path: '/android/pubsub',
    body: () => ({
      message: {
        data: 'eyJuYW1lIjoiZW50ZXJwcmlzZXMvTEMwaW50ZXJpZXVyL2RldmljZXMveCJ9',
        attributes: { notificationType: 'ENROLLMENT' },
        messageId: '1',
      },
      subscription: 'projects/mdm-etat/subscriptions/amapi',
    }),
    fields: [
      { name: 'message', kind: 'string', required: true },
      { name: 'subscription', kind: 'string', required: false },
    ],
  },
  {
    name: 'POST /ministries/:code/android/reconcile',
    method: 'post',
    path: '/ministries/{otherMinistry}/android/reconcile',
    login: 'it.interieur',
  },
  {
    name: 'POST /devices/:id/reassign',
    method: 'post',
    path: '/devices/{device}/reassign',
    login: 'it.interieur',
    body: (fx) => ({ agentId: fx.otherAgent }),
    fields: [{ name: 'agentId', kind: 'uuid', required: true }],
  },
  {
    name: 'POST /rollouts/:id/pause',
    method: 'post',
    path: '/rollouts/{rollout}/pause',
    login: 'admin.national',
    body: () => ({ reason: 'Incident en cours' }),
    fields: [{ name: 'reason', kind: 'string', required: false }],
  },
  {
    name: 'POST /rollouts/:id/abort',
    method: 'post',
    path: '/rollouts/{rollout}/abort',
    login: 'admin.national',
    body: () => ({ reason: 'Incident en cours' }),
    fields: [{ name: 'reason', kind: 'string', required: false }],
  },
  { name: 'POST /rollouts/:id/resume', method: 'post', path: '/rollouts/{rollout}/resume', login: 'admin.national' },
  { name: 'POST /rollouts/:id/advance', method: 'post', path: '/rollouts/{rollout}/advance', login: 'admin.national' },
  // Reads: odd ids in paths, odd query strings.
  { name: 'GET /exemptions/:id', method: 'get', path: '/exemptions/{exemption}', login: 'agent.interieur', read: true },
  { name: 'GET /devices/:id', method: 'get', path: '/devices/{device}', login: 'it.interieur', read: true },
  { name: 'GET /agents/:id', method: 'get', path: '/agents/{agent}', login: 'admin.national', read: true },
  {
    name: 'GET /agents/:id/effective-policy',
    method: 'get',
    path: '/agents/{agent}/effective-policy',
    login: 'admin.national',
    read: true,
  },
  {
    name: 'GET /devices/:id/effective-policy',
    method: 'get',
    path: '/devices/{device}/effective-policy',
    login: 'it.interieur',
    read: true,
  },
  { name: 'GET /policy-plans/:id', method: 'get', path: '/policy-plans/{plan}', login: 'admin.national', read: true },
  { name: 'GET /rollouts/:id', method: 'get', path: '/rollouts/{rollout}', login: 'admin.national', read: true },
  {
    name: 'GET /rollouts',
    method: 'get',
    path: '/rollouts',
    login: 'admin.national',
    read: true,
    query: { scope: 'interieur', active: 'true' },
  },
  {
    name: 'GET /policies/:scope/versions/:version',
    method: 'get',
    path: '/policies/{scope}/versions/{version}',
    login: 'admin.national',
    read: true,
  },
  {
    name: 'GET /policies/:scope/diff',
    method: 'get',
    path: '/policies/{scope}/diff',
    login: 'admin.national',
    read: true,
    query: { from: '1', to: '2' },
  },
  {
    name: 'GET /ministries/:code/exemptions',
    method: 'get',
    path: '/ministries/{ministry}/exemptions',
    login: 'approver.interieur',
    read: true,
    query: { status: 'pending', app: 'x', minAgeDays: '0', limit: '10', offset: '0' },
  },
  {
    name: 'GET /ministries/:code/devices',
    method: 'get',
    path: '/ministries/{ministry}/devices',
    login: 'it.interieur',
    read: true,
    query: { compliance: 'compliant', limit: '10', offset: '0' },
  },
  {
    name: 'GET /ministries/:code/exemption-register.csv',
    method: 'get',
    path: '/ministries/{ministry}/exemption-register.csv',
    login: 'approver.interieur',
    read: true,
  },
  {
    name: 'GET /audit',
    method: 'get',
    path: '/audit',
    login: 'admin.national',
    read: true,
    query: { ministry: 'interieur', entityType: 'exemption', entityId: 'x', limit: '10', beforeSeq: '100' },
  },
  {
    name: 'GET /catalog/apps',
    method: 'get',
    path: '/catalog/apps',
    login: 'agent.interieur',
    read: true,
    query: { category: 'social', q: 'tik' },
  },
  {
    name: 'GET /catalog/apps/:slug',
    method: 'get',
    path: '/catalog/apps/{slug}',
    login: 'agent.interieur',
    read: true,
  },
  {
    name: 'GET /me/notifications',
    method: 'get',
    path: '/me/notifications',
    login: 'agent.interieur',
    read: true,
    query: { unread: 'true' },
  },
  // Each download of a valid link issues a device identity: only links that do not exist are fuzzed.
  { name: 'GET /apple/enroll/:token', method: 'get', path: '/apple/enroll/{enrollToken}' },
  {
    name: 'GET /android/signup-callback',
    method: 'get',
    path: '/android/signup-callback',
    login: 'it.interieur',
    read: true,
    query: { ministry: 'interieur', enterpriseToken: 'x' },
  },
  { name: 'GET /auth/login', method: 'get', path: '/auth/login', read: true, query: { returnTo: '/' } },
];

/**
 * Real targets for the ids in paths, so that bodies are checked against things that exist: a
 * pending exemption, a saved plan, a rollout (from an applied plan), the agent's device and role.
 */
export async function prepareApiFixtures(host: FuzzHost, tokens: Map<string, string>): Promise<Fixtures> {
  const fx: Fixtures = {};
  fx.agent = await firstId(host.db, `SELECT id FROM agent WHERE sub = 'demo-agent-interieur'`);
  fx.otherAgent = await firstId(host.db, `SELECT id FROM agent WHERE sub = 'demo-presse-interieur'`);
  fx.device = await firstId(host.db, `SELECT id FROM device WHERE ministry_code = 'interieur' ORDER BY id LIMIT 1`);
  fx.assignment = await firstId(
    host.db,
    `SELECT r.id FROM role_assignment r JOIN agent a ON a.id = r.agent_id WHERE a.sub = 'demo-agent-interieur' LIMIT 1`,
  );
  fx.ministry = 'interieur';
  fx.otherMinistry = 'culture';
  fx.scope = 'interieur';
  fx.version = '1';
  fx.slug = 'tiktok';
  fx.enrollToken = 'no-such-enrollment-link';
  // A live enrollment link (the push certificate is uploaded first), which every defective DELETE must leave live.
  const link = await as(host, tokens, 'it.interieur')
    .post('/ministries/interieur/apple/enrollment-links')
    .send({ expiresInHours: 24 });
  fx.enrollmentLink = link.status === 201 ? (link.body.id as string) : randomUUID();
  // An enterprise Google knows (the fake AMAPI's) that another ministry already holds.
  fx.boundElsewhere = 'enterprises/LC0interieur';
  await host.db.query(
    `INSERT INTO android_enterprise (ministry_code, enterprise_name, created_by) VALUES ('culture', $1, 'fuzz fixture')
     ON CONFLICT (ministry_code) DO UPDATE SET enterprise_name = EXCLUDED.enterprise_name`,
    [fx.boundElsewhere],
  );
  fx.exemption = (
    await as(host, tokens, 'agent.interieur')
      .post('/exemptions')
      .send({ app: 'x', justification: JUSTIFICATION, days: 30 })
      .expect(201)
  ).body.id as string;
  const it = as(host, tokens, 'it.interieur');
  const content = (await it.get('/policies/interieur').expect(200)).body.content as {
    mode: string;
    description?: string;
    rules: unknown[];
  };
  fx.policyContent = JSON.stringify(content);
  const extra = [{ app: 'nextcloud', action: 'block', exemptable: false }];
  const applied = await it
    .post('/policies/interieur/plan')
    .send({ ...content, rules: [...content.rules, ...extra] })
    .expect(201);
  await it
    .post(`/policy-plans/${applied.body.id}/apply`)
    .send({ stages: [10, 100], stageWaitMinutes: 60 })
    .expect(200);
  fx.rollout = await firstId(host.db, `SELECT id FROM rollout ORDER BY created_at DESC LIMIT 1`);
  fx.plan = (
    await it
      .post('/policies/interieur/plan')
      .send({ ...content, rules: [...content.rules, ...extra, { app: 'zoom', action: 'block', exemptable: false }] })
      .expect(201)
  ).body.id as string;
  fx.notification = await firstId(
    host.db,
    `SELECT n.id FROM notification n JOIN agent a ON a.id = n.agent_id WHERE a.sub = 'demo-agent-interieur' LIMIT 1`,
  );
  return fx;
}

// --- Apple MDM ---------------------------------------------------------------------------------

export interface AppleDevice {
  udid: string;
  identity: { certPem: string; keyPem: string };
}

export interface AppleFixtures {
  device: AppleDevice;
  /** Enrolled too: its UDID is someone else's for `device`. */
  other: AppleDevice;
  /** Signs well, but was not issued by this server. */
  stranger: { certPem: string; keyPem: string };
  topic: string;
}

const CHECKIN = 'application/x-apple-aspen-mdm-checkin';
const COMMAND = 'application/x-apple-aspen-mdm';

function authenticate(device: AppleDevice, topic: string): PlistDict {
  return {
    MessageType: 'Authenticate',
    Topic: topic,
    UDID: device.udid,
    BuildVersion: '21A351',
    OSVersion: '17.0.3',
    ProductName: 'iPhone15,2',
    SerialNumber: 'F2LXXFUZZ01',
    Model: 'MQ0G3ZD/A',
    ModelName: 'iPhone',
    DeviceName: 'iPhone Fuzz',
  };
}

function tokenUpdate(device: AppleDevice, topic: string): PlistDict {
  return {
    MessageType: 'TokenUpdate',
    Topic: topic,
    UDID: device.udid,
    Token: Buffer.alloc(32, 7),
    PushMagic: '5F1E0A6C-0000-4000-8000-FUZZFUZZFUZZ',
    AwaitingConfiguration: false,
  };
}

async function signedPut(
  host: FuzzHost,
  path: string,
  body: Buffer,
  identity: { certPem: string; keyPem: string },
  contentType: string,
) {
  return request(host.server)
    .put(path)
    .set('Content-Type', contentType)
    .set('Mdm-Signature', signDetached(body, identity))
    .send(body);
}

/** Enrolls an iPhone the way a real one does: enrollment link, profile (its identity), Authenticate, TokenUpdate. */
async function enrollDevice(
  host: FuzzHost,
  tokens: Map<string, string>,
  agentSub: string,
): Promise<{ device: AppleDevice; topic: string }> {
  const agentId = await firstId(host.db, `SELECT id FROM agent WHERE sub = '${agentSub}'`);
  const link = await as(host, tokens, 'it.interieur')
    .post('/ministries/interieur/apple/enrollment-links')
    .send({ agentId, expiresInHours: 24 })
    .expect(201);
  const profile = await request(host.server)
    .get(new URL(link.body.url as string).pathname)
    .buffer(true)
    .parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    });
  const parsed = parseMobileconfig(profile.body as Buffer);
  const payloads = payloadsOf(parsed.profile);
  const mdm = payloads.find((p) => p.PayloadType === 'com.apple.mdm') as PlistDict;
  const pkcs12 = payloads.find((p) => p.PayloadUUID === mdm.IdentityCertificateUUID) as PlistDict;
  const decoded = identityFromPkcs12(
    pkcs12.PayloadContent as Buffer,
    typeof pkcs12.Password === 'string' ? pkcs12.Password : '',
  );
  const device: AppleDevice = {
    udid: randomUUID().toUpperCase(),
    identity: { certPem: decoded.certPem, keyPem: decoded.keyPem },
  };
  const topic = mdm.Topic as string;
  for (const message of [authenticate(device, topic), tokenUpdate(device, topic)]) {
    const res = await signedPut(host, '/mdm/checkin', Buffer.from(buildPlist(message)), device.identity, CHECKIN);
    if (res.status !== 200) throw new Error(`enrollment refused: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return { device, topic };
}

export async function prepareAppleFixtures(host: FuzzHost, tokens: Map<string, string>): Promise<AppleFixtures> {
  await uploadPushCertificate(host, tokens);
  const { device, topic } = await enrollDevice(host, tokens, 'demo-agent-interieur');
  const { device: other } = await enrollDevice(host, tokens, 'demo-presse-interieur');
  const stranger = createIdentity(createTestCa('Not this server'), 'stranger');
  return { device, other, stranger: { certPem: stranger.certPem, keyPem: stranger.keyPem }, topic };
}

/** A refused MDM message may still tell us the device spoke (last_seen_at): the fuzz compares everything else. */
/** What an accepted check-in legitimately refreshes: when the phone (and its serial number) was last heard. */
export const APPLE_VOLATILE = { device: ['last_seen_at'], apple_device_serial: ['seen_at'] };

type Message = { channel: 'checkin' | 'server'; dict: PlistDict };

function baseMessages(fx: AppleFixtures): Message[] {
  const d = fx.device;
  return [
    { channel: 'checkin', dict: authenticate(d, fx.topic) },
    { channel: 'checkin', dict: tokenUpdate(d, fx.topic) },
    { channel: 'checkin', dict: { MessageType: 'CheckOut', Topic: fx.topic, UDID: d.udid } },
    { channel: 'server', dict: { UDID: d.udid, Status: 'Idle' } },
    {
      channel: 'server',
      dict: {
        UDID: d.udid,
        Status: 'Acknowledged',
        CommandUUID: randomUUID(),
        InstalledApplicationList: [{ Identifier: 'com.example.app', ShortVersion: '1.0' }],
      },
    },
    {
      channel: 'server',
      dict: {
        UDID: d.udid,
        Status: 'Error',
        CommandUUID: randomUUID(),
        ErrorChain: [{ ErrorCode: 12, ErrorDomain: 'MCProfileErrorDomain', LocalizedDescription: 'x' }],
      },
    },
    { channel: 'server', dict: { UDID: d.udid, Status: 'NotNow', CommandUUID: randomUUID() } },
  ];
}

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE plist [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>`;

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Replaces the value of `key` in a built plist (XML text) by raw XML. */
function replaceValue(xml: string, key: string, rawValue: string | null): string {
  const re = new RegExp(
    `(<key>${key}</key>\\s*)(<(string|integer|data|true|false|date|real|array|dict)\\b[^>]*/>|<(string|integer|data|date|real)>[^<]*</\\4>|<array>[\\s\\S]*?</array>|<dict>[\\s\\S]*?</dict>)`,
  );
  return xml
    .replace(re, rawValue === null ? '' : `$1${rawValue}`)
    .replace(rawValue === null ? new RegExp(`<key>${key}</key>\\s*`) : /$^/, '');
}

const wrongPlistValue = fc.oneof(
  fc.constantFrom(
    '<integer>12</integer>',
    '<true/>',
    '<dict/>',
    '<array/>',
    '<data>AAAA</data>',
    '<date>2024-01-01T00:00:00Z</date>',
    '<real>1e999</real>',
    '<dict><key>a</key><string>b</string></dict>',
  ),
  fc
    .integer({ min: 40, max: 30_000 })
    .map((depth) => `${'<array>'.repeat(depth)}<string>x</string>${'</array>'.repeat(depth)}`),
);

const oddXmlString = fc.oneof(
  oddString.filter((s) => s.length < 150_000).map((s) => `<string>${xmlEscape(s)}</string>`),
  fc.constantFrom(
    '<string>&#0;</string>',
    '<string>a&#x0;b</string>',
    '<string>&#xD800;</string>',
    '<string><![CDATA[<dict/>]]></string>',
    '<string>&unknown;</string>',
    '<string>&amp;&lt;&gt;</string>',
  ),
);

type BodyDefect =
  | { kind: 'entity'; variant: number }
  | { kind: 'truncated'; at: number }
  | { kind: 'wrong-type'; key: number; value: string }
  | { kind: 'missing'; key: number }
  | { kind: 'odd-value'; key: number; value: string }
  | { kind: 'not-dict'; text: string }
  | { kind: 'garbage'; bytes: Uint8Array }
  | { kind: 'huge'; size: number }
  | { kind: 'other-udid' }
  | { kind: 'wrong-channel' }
  | { kind: 'nul'; key: number }
  | { kind: 'command-uuid'; value: string };

type SignatureDefect =
  | { kind: 'none' }
  | { kind: 'empty' }
  | { kind: 'not-base64'; text: string }
  | { kind: 'flip-base64'; at: number; to: number }
  | { kind: 'flip-der'; at: number[]; xor: number }
  | { kind: 'truncated-der'; at: number }
  | { kind: 'other-body' }
  | { kind: 'stranger' }
  | { kind: 'attached' }
  | { kind: 'huge'; size: number };

const bodyDefect: fc.Arbitrary<BodyDefect> = fc.oneof(
  fc.nat(5).map((variant) => ({ kind: 'entity' as const, variant })),
  fc.nat().map((at) => ({ kind: 'truncated' as const, at })),
  fc.tuple(fc.nat(), wrongPlistValue).map(([key, value]) => ({ kind: 'wrong-type' as const, key, value })),
  fc.tuple(fc.nat(), wrongPlistValue).map(([key, value]) => ({ kind: 'wrong-type' as const, key, value })),
  fc.nat().map((key) => ({ kind: 'missing' as const, key })),
  fc.tuple(fc.nat(), oddXmlString).map(([key, value]) => ({ kind: 'odd-value' as const, key, value })),
  fc
    .constantFrom(
      '<plist/>',
      '<plist><array/></plist>',
      '<plist><string>x</string></plist>',
      '<plist><integer>1</integer></plist>',
      '<plist><dict/></plist>',
      '<?xml version="1.0"?>',
      '<plist><dict><key>UDID</key></dict></plist>',
      '<plist><dict><key>__proto__</key><dict/></dict></plist>',
      '<plist><dict><key>constructor</key><dict/></dict></plist>',
    )
    .map((text) => ({ kind: 'not-dict' as const, text })),
  fc
    .oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc.constantFrom(
        new Uint8Array(Buffer.from('bplist00\u0000\u0001')),
        new Uint8Array([0xff, 0xfe, 0x3c, 0x00]),
        new Uint8Array([0xc3, 0x28, 0xa0, 0xa1]),
      ),
    )
    .map((bytes) => ({ kind: 'garbage' as const, bytes })),
  fc.integer({ min: 200_001, max: 400_000 }).map((size) => ({ kind: 'huge' as const, size })),
  fc.constant({ kind: 'other-udid' as const }),
  fc.constant({ kind: 'wrong-channel' as const }),
  fc.nat().map((key) => ({ kind: 'nul' as const, key })),
  // A report naming a command by something that is not a UUID (the queue's key is a uuid column).
  fc
    .oneof(
      fc.constantFrom(
        'not-a-uuid',
        '',
        '1',
        "' OR 1=1 --",
        '00000000-0000-0000-0000-00000000000g',
        '5F1E0A6C-0000-4000-8000-00000000000',
        '{5F1E0A6C-0000-4000-8000-000000000000}',
        'x'.repeat(5000),
      ),
      oddString.filter((s) => s.length > 0 && s.length < 200 && !s.includes('\u0000')),
    )
    .map((value) => ({ kind: 'command-uuid' as const, value })),
);

const signatureDefect: fc.Arbitrary<SignatureDefect> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.constant({ kind: 'empty' as const }),
  fc
    .oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 200 }), fc.constantFrom('====', 'a', 'AAAA', '!!!!', 'MIIB'))
    .map((text) => ({ kind: 'not-base64' as const, text })),
  fc.tuple(fc.nat(), fc.nat(63)).map(([at, to]) => ({ kind: 'flip-base64' as const, at, to })),
  fc
    .tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 255 }))
    .map(([at, xor]) => ({ kind: 'flip-der' as const, at, xor })),
  fc
    .tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 255 }))
    .map(([at, xor]) => ({ kind: 'flip-der' as const, at, xor })),
  fc.nat().map((at) => ({ kind: 'truncated-der' as const, at })),
  fc.constant({ kind: 'other-body' as const }),
  fc.constant({ kind: 'stranger' as const }),
  fc.constant({ kind: 'attached' as const }),
  fc.integer({ min: 4_000, max: 12_000 }).map((size) => ({ kind: 'huge' as const, size })),
);

/** Noise that a real message may carry: comments, CDATA, extra keys; never a defect by itself. */
const xmlNoise = fc.constantFrom('', '', '<!-- comment -->', '<?fuzz instruction?>', '\n\n\t ');

const CONTENT_TYPES = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(CHECKIN, COMMAND, 'application/x-plist', 'application/xml', 'text/xml') },
  { weight: 1, arbitrary: fc.constantFrom('application/json', 'text/plain', 'application/octet-stream') },
);

function keysOf(message: Message): string[] {
  return Object.keys(message.dict);
}

/** The keys the service requires of each message: removing or retyping them must be refused. */
function requiredKeys(message: Message): string[] {
  const d = message.dict;
  if (d.MessageType === 'TokenUpdate') return ['MessageType', 'UDID', 'Token', 'PushMagic'];
  if (d.MessageType) return ['MessageType', 'UDID'];
  return d.Status === 'Idle' ? ['UDID', 'Status'] : ['UDID', 'Status', 'CommandUUID'];
}

function mutateBody(
  fx: AppleFixtures,
  message: Message,
  defect: BodyDefect,
  noise: string,
): { body: Buffer; channel: Message['channel']; label: string } {
  const xml = buildPlist(message.dict).replace('<dict>', `<dict>${noise}`);
  const required = requiredKeys(message);
  const keys = keysOf(message);
  switch (defect.kind) {
    case 'entity': {
      const udid = `<key>UDID</key><string>&lol9;</string>`;
      const variants = [
        `${BILLION_LAUGHS}<plist version="1.0"><dict>${udid}</dict></plist>`,
        xml
          .replace(
            '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
            '<!DOCTYPE plist [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
          )
          .replace(fx.device.udid, '&xxe;'),
        xml.replace(
          '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
          '<!DOCTYPE plist [<!eNtItY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>',
        ),
        xml
          .replace(
            '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
            `<!DOCTYPE plist [<!ENTITY a "${'x'.repeat(10_000)}">]>`,
          )
          .replace(fx.device.udid, '&a;&a;&a;&a;&a;&a;&a;&a;'),
        xml.replace(fx.device.udid, '&lol9;'),
        xml
          .replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="UTF-16"?>')
          .replace(fx.device.udid, '&#x26;lol;'),
      ];
      return {
        body: Buffer.from(variants[defect.variant % variants.length]),
        channel: message.channel,
        label: `XML entities (variant ${defect.variant % variants.length})`,
      };
    }
    case 'truncated': {
      const end = xml.lastIndexOf('</plist>') + '</plist>'.length - 1;
      return {
        body: Buffer.from(xml.slice(0, 1 + (defect.at % end))),
        channel: message.channel,
        label: 'truncated body',
      };
    }
    case 'wrong-type': {
      const key = required[defect.key % required.length];
      // Token is data already: give it a string instead.
      if (key === 'Token' && defect.value.startsWith('<data>'))
        return {
          body: Buffer.from(replaceValue(xml, key, '<string>AAAA</string>')),
          channel: message.channel,
          label: 'Token of the wrong type: <string>',
        };
      return {
        body: Buffer.from(replaceValue(xml, key, defect.value)),
        channel: message.channel,
        label: `${key} of the wrong type: ${defect.value.slice(0, 40)}`,
      };
    }
    case 'missing': {
      const key = required[defect.key % required.length];
      return { body: Buffer.from(replaceValue(xml, key, null)), channel: message.channel, label: `${key} missing` };
    }
    case 'odd-value': {
      // MessageType/Status/UDID with an odd string: unknown, or not this device's UDID.
      const key = required.filter((k) => k !== 'Token' && k !== 'CommandUUID')[defect.key % 2] ?? 'UDID';
      return {
        body: Buffer.from(replaceValue(xml, key, defect.value)),
        channel: message.channel,
        label: `${key} = ${defect.value.slice(0, 40)}`,
      };
    }
    case 'not-dict':
      return {
        body: Buffer.from(defect.text),
        channel: message.channel,
        label: `not a dictionary: ${defect.text.slice(0, 40)}`,
      };
    case 'garbage':
      return { body: Buffer.from(defect.bytes), channel: message.channel, label: 'garbage bytes' };
    case 'huge':
      return {
        body: Buffer.from(replaceValue(xml, 'UDID', `<string>${'A'.repeat(defect.size)}</string>`)),
        channel: message.channel,
        label: `huge body (${defect.size} bytes)`,
      };
    case 'other-udid':
      return {
        body: Buffer.from(xml.split(fx.device.udid).join(fx.other.udid)),
        channel: message.channel,
        label: "another device's UDID",
      };
    case 'wrong-channel':
      return {
        body: Buffer.from(xml),
        channel: message.channel === 'checkin' ? 'server' : 'checkin',
        label: 'message sent to the other channel',
      };
    case 'command-uuid': {
      const answer: PlistDict =
        message.channel === 'server' && message.dict.CommandUUID
          ? { ...message.dict }
          : { UDID: fx.device.udid, Status: 'Acknowledged', CommandUUID: '' };
      const built = buildPlist({ ...answer, CommandUUID: 'PLACEHOLDER' }).replace('<dict>', `<dict>${noise}`);
      return {
        body: Buffer.from(built.replace('<string>PLACEHOLDER</string>', `<string>${xmlEscape(defect.value)}</string>`)),
        channel: 'server',
        label: `CommandUUID that is not a UUID: ${JSON.stringify(defect.value.slice(0, 40))}`,
      };
    }
    case 'nul': {
      const key = keys.filter((k) => typeof message.dict[k] === 'string')[
        defect.key % keys.filter((k) => typeof message.dict[k] === 'string').length
      ];
      return {
        body: Buffer.from(replaceValue(xml, key, `<string>a\u0000b</string>`)),
        channel: message.channel,
        label: `NUL character in ${key}`,
      };
    }
  }
}

function mutateSignature(
  fx: AppleFixtures,
  body: Buffer,
  defect: SignatureDefect,
): { signature: string | null; label: string } {
  const good = () => signDetached(body, fx.device.identity);
  const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  switch (defect.kind) {
    case 'none':
      return { signature: null, label: 'no Mdm-Signature' };
    case 'empty':
      return { signature: '', label: 'empty Mdm-Signature' };
    case 'not-base64':
      return { signature: defect.text, label: 'Mdm-Signature not base64' };
    case 'flip-base64': {
      const s = good();
      const at = defect.at % (s.length - 2);
      return {
        signature: s.slice(0, at) + b64[defect.to] + s.slice(at + 1),
        label: `Mdm-Signature base64 char ${at} changed`,
      };
    }
    case 'flip-der': {
      const der = Buffer.from(good(), 'base64');
      for (const at of defect.at) der[at % der.length] ^= defect.xor;
      return { signature: der.toString('base64'), label: `Mdm-Signature DER bytes ${defect.at.join(',')} changed` };
    }
    case 'truncated-der': {
      const der = Buffer.from(good(), 'base64');
      return {
        signature: der.subarray(0, defect.at % der.length).toString('base64'),
        label: 'Mdm-Signature DER truncated',
      };
    }
    case 'other-body':
      return {
        signature: signDetached(Buffer.concat([body, Buffer.from(' ')]), fx.device.identity),
        label: 'Mdm-Signature of another body',
      };
    case 'stranger':
      return {
        signature: signDetached(body, fx.stranger),
        label: 'Mdm-Signature by an identity this server did not issue',
      };
    case 'attached':
      return {
        signature: signAttached(body, fx.device.identity).toString('base64'),
        label: 'attached (not detached) CMS signature',
      };
    case 'huge':
      return {
        signature: 'A'.repeat(defect.size - (defect.size % 4)),
        label: `huge Mdm-Signature (${defect.size} chars)`,
      };
  }
}

/** Signed messages with a mutated body, and well-formed messages with a mutated signature. */
export function appleCases(fx: AppleFixtures, total: number, seed: number): FuzzRequest[] {
  const bases = baseMessages(fx);
  const arb = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .record({ base: fc.nat(bases.length - 1), defect: bodyDefect, noise: xmlNoise, contentType: CONTENT_TYPES })
        .map((c) => ({ ...c, sig: null as SignatureDefect | null })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ base: fc.constant(0), sig: signatureDefect, contentType: CONTENT_TYPES })
        .map((c) => ({ ...c, defect: null as BodyDefect | null, noise: '' })),
    },
  );
  return fc.sample(arb, { numRuns: total, seed }).map((c): FuzzRequest => {
    const base = bases[c.base];
    if (c.defect) {
      const { body, channel, label } = mutateBody(fx, base, c.defect, c.noise);
      const contentType = channel === 'checkin' ? CHECKIN : c.contentType;
      return {
        target: `PUT /mdm/${channel} (signed, mutated body)`,
        method: 'put',
        path: `/mdm/${channel}`,
        contentType,
        body,
        headers: { 'Mdm-Signature': signDetached(body, fx.device.identity) },
        defect: label,
        mustRefuse: true,
      };
    }
    const body = Buffer.from(buildPlist(base.dict));
    const { signature, label } = mutateSignature(fx, body, c.sig as SignatureDefect);
    // A change in a part of the CMS structure that the signature does not cover leaves it valid: then acceptance is right.
    const stillValid = signature !== null && verifyDetachedSignature(body, signature).ok;
    return {
      target: 'PUT /mdm/checkin (mutated signature)',
      method: 'put',
      path: '/mdm/checkin',
      contentType: CHECKIN,
      body,
      headers: signature === null ? {} : { 'Mdm-Signature': signature },
      defect: label,
      mustRefuse: !stillValid,
    };
  });
}

// --- Policy YAML -------------------------------------------------------------------------------

const ALIAS_BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...Array.from(
    { length: 9 },
    (_, i) =>
      `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`,
  ),
].join('\n');

export type YamlDefect = (text: string) => { text: string; label: string };

/** Changes that make a policy document invalid (so an API plan must be refused), each with a label. */
export const yamlDefect: fc.Arbitrary<YamlDefect> = fc.oneof(
  fc.constant<YamlDefect>((t) => ({ text: `${t}\n${ALIAS_BOMB}\n`, label: 'alias bomb (billion laughs)' })),
  fc.constant<YamlDefect>(() => ({
    text: `${ALIAS_BOMB}\nmode: blocklist\nrules: *j\n`,
    label: 'alias bomb as the rules',
  })),
  fc.constant<YamlDefect>((t) => ({ text: t.replace(/^mode: .*$/m, 'mode: 5'), label: 'mode is a number' })),
  fc.constant<YamlDefect>((t) => ({ text: t.replace(/^mode: .*$/m, 'mode: [blocklist]'), label: 'mode is a list' })),
  fc.constant<YamlDefect>((t) => ({
    text: t.replace(/^rules:[\s\S]*$/m, 'rules: "all"\n'),
    label: 'rules is a string',
  })),
  fc.constant<YamlDefect>((t) => ({
    text: t.replace(/exemptable: (true|false)/, 'exemptable: "yes"'),
    label: 'exemptable is a string',
  })),
  fc.constant<YamlDefect>((t) => ({
    text: t.replace(/exemptable: (true|false)/, 'exemptable: !!binary aGVsbG8='),
    label: 'exemptable is binary',
  })),
  fc.constant<YamlDefect>((t) => ({
    text: t.replace(/^mode: .*$/m, 'mode: !!js/function "function () { return 1 }"'),
    label: 'unknown tag !!js/function',
  })),
  fc.constant<YamlDefect>((t) => ({
    text: t.replace(/^mode: .*$/m, 'mode: !!python/object/apply:os.system ["id"]'),
    label: 'unknown tag !!python/object',
  })),
  fc.constant<YamlDefect>((t) => ({ text: `${t}\n---\nmode: allowlist\n`, label: 'two documents' })),
  fc.constant<YamlDefect>((t) => ({ text: `${t}\nmode: allowlist\n`, label: 'duplicate key' })),
  fc.constant<YamlDefect>((t) => ({ text: t.replace(/^(rules:.*)$/m, '$1\n\t- app: x'), label: 'tab indentation' })),
  fc.constant<YamlDefect>((t) => ({ text: t.replace(/^mode: .*$/m, 'mode: 2024-01-01'), label: 'mode is a date' })),
  fc.constant<YamlDefect>((t) => ({
    text: t.replace(/^mode: .*$/m, 'mode: "block\\0list"'),
    label: 'NUL escape in a string',
  })),
  fc.constant<YamlDefect>((t) => ({
    text: `${t}\ndescription: "a\\0b"\n`.replace(/^description:[^\n]*\n/m, ''),
    label: 'NUL escape in the description',
  })),
  // A "\ud800" escape decodes to half a surrogate pair: not a character, and refused by jsonb (the audit log).
  fc.constantFrom('\\ud800', '\\udfff', '\\uDBFF\\u0041', '\\U0000D800').map<YamlDefect>((lone) => (t) => ({
    text: `${t.replace(/^description:[^\n]*\n/m, '')}\ndescription: "Politique ${lone} du ministère"\n`,
    label: `lone surrogate ${lone} in the description`,
  })),
  fc.constant<YamlDefect>((t) => ({
    text: t.replace(/^mode: .*$/m, 'mode: "block\\udc00list"'),
    label: 'lone surrogate in a string',
  })),
  fc.constant<YamlDefect>((t) => ({ text: `${t}\n__proto__: {polluted: 1}\n`, label: '__proto__ key' })),
  fc.constant<YamlDefect>((t) => ({
    text: `${t}\nconstructor: {prototype: {polluted: 1}}\n`,
    label: 'constructor key',
  })),
  fc.constant<YamlDefect>((t) => ({ text: `${t}\n<<: {zz: 1}\n`, label: 'merge key adding an unknown field' })),
  // The two costly ones (hundreds of ms to parse) share one slot.
  fc.oneof(
    fc.integer({ min: 40, max: 99_000 }).map<YamlDefect>((depth) => (t) => ({
      text: `${t}\nextra: ${'['.repeat(depth)}1${']'.repeat(depth)}\n`,
      label: `flow nesting ${depth} deep`,
    })),
    fc.integer({ min: 40_001, max: 90_000 }).map<YamlDefect>((n) => (t) => ({
      text: `${t}\nextra: [${'1,'.repeat(n)}1]\n`,
      label: `flat list of ${n} entries`,
    })),
    fc.integer({ min: 3_001, max: 3_100 }).map<YamlDefect>((n) => (t) => ({
      text: t.replace(
        /^rules:[\s\S]*$/m,
        `rules:\n${'  - {app: tiktok, action: block, exemptable: false}\n'.repeat(n)}`,
      ),
      label: `${n} rules (over the limit)`,
    })),
  ),
  fc.integer({ min: 40, max: 3_000 }).map<YamlDefect>((depth) => (t) => ({
    text: `${t}\nextra:\n${Array.from({ length: depth }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}1\n`,
    label: `block nesting ${depth} deep`,
  })),
  fc.integer({ min: 10_000, max: 150_000 }).map<YamlDefect>((n) => (t) => ({
    text: t.replace(/^mode: .*$/m, `mode: ${'b'.repeat(n)}`),
    label: `huge scalar (${n})`,
  })),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }).map<YamlDefect>((junk) => (t) => ({
    text: `${junk}\n${t}\nzz_unknown: 1\n`,
    label: 'garbage before, unknown field after',
  })),
  fc.nat().map<YamlDefect>((at) => (t) => ({
    text: `${t.slice(0, at % t.length)}\nzz_unknown: 1\n`,
    label: 'truncated, then an unknown field',
  })),
  oddString
    .filter((s) => s.length < 2000)
    .map<YamlDefect>((s) => (t) => ({ text: `${t}\n${JSON.stringify(s)}: 1\n`, label: 'odd unknown field' })),
  fc
    .constantFrom(
      '',
      ' ',
      '~',
      'null',
      '[]',
      '- a\n- b',
      '"just a string"',
      '12',
      '? complex key\n: value',
      '&a [*a]',
      '*unknown',
      '%YAML 9.9\n---\na: 1',
      '{',
      '}',
      '[',
      'key: "unterminated',
      "key: 'unterminated",
      '\ufeff\ufeffmode: x',
    )
    .map<YamlDefect>((doc) => () => ({
      text: doc,
      label: `not a policy document: ${JSON.stringify(doc).slice(0, 30)}`,
    })),
);

/** Noise that keeps a document valid: comments, CRLF, BOM, anchors used once. */
export const yamlNoise: fc.Arbitrary<(t: string) => string> = fc.constantFrom(
  (t: string) => t,
  (t: string) => `# commentaire\n${t}`,
  (t: string) => t.replace(/\n/g, '\r\n'),
  (t: string) => `\ufeff${t}`,
  (t: string) => `---\n${t}\n...\n`,
  (t: string) => t.replace(/^mode: (.*)$/m, 'mode: &m $1'),
);

/** The API's YAML plan bodies: the interieur policy as YAML, with a defect and some noise. */
export function yamlPlanCases(fx: Fixtures, total: number, seed: number): FuzzRequest[] {
  const base = stringify(
    { ...(JSON.parse(fx.policyContent) as Record<string, unknown>), comment: 'fuzz' },
    { lineWidth: 0 },
  );
  return fc
    .sample(fc.tuple(yamlNoise, yamlDefect, fc.constantFrom('application/yaml', 'application/x-yaml', 'text/yaml')), {
      numRuns: total,
      seed,
    })
    .map(([noise, defect, contentType]) => {
      const { text: damaged, label } = defect(base);
      const text = noise(damaged);
      return {
        target: 'POST /policies/:scope/plan (YAML)',
        method: 'post',
        path: '/policies/interieur/plan',
        login: 'it.interieur',
        contentType,
        body: text,
        defect: label,
        mustRefuse: true,
      };
    });
}

/** Mutations of a policy file for the loader itself: defects, but also plain damage (cut, flipped characters) that may leave it valid. */
export const yamlFileMutation: fc.Arbitrary<{ apply: (t: string) => string; label: string; mustRefuse: boolean }> =
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.tuple(yamlNoise, yamlDefect).map(([noise, defect]) => ({
        apply: (t: string) => noise(defect(t).text),
        label: defect('').label,
        mustRefuse: true,
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .nat()
        .map((at) => ({ apply: (t: string) => t.slice(0, at % t.length), label: 'cut short', mustRefuse: false })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
          fc.constantFrom(
            ':',
            '-',
            ' ',
            '\t',
            '"',
            "'",
            '&',
            '*',
            '!',
            '|',
            '>',
            '{',
            '[',
            '#',
            '%',
            '@',
            '`',
            '\n',
            '\u0000',
            '\u0085',
            '\u2028',
          ),
        )
        .map(([ats, c]) => ({
          apply: (t: string) => ats.reduce((s, at) => s.slice(0, at % s.length) + c + s.slice((at % s.length) + 1), t),
          label: `characters replaced by ${JSON.stringify(c)}`,
          mustRefuse: false,
        })),
    },
  );

// --- CPU exhaustion ----------------------------------------------------------------------------

/**
 * Bodies made to hold the event loop (issue 16, item 8): YAML plans and signed plists nested as
 * deep as the body limit allows, and flat ones with more entries than any real document. Each must
 * be refused at once by the pre-scan; the fuzz bench measures /health while they arrive.
 */
export function cpuAttackCases(fx: Fixtures, apple: AppleFixtures, bodyLimit: number, total: number): FuzzRequest[] {
  const depth = Math.floor((bodyLimit - 400) / 2);
  const plistDepth = Math.floor((bodyLimit - 400) / 15);
  const signed = (xml: string, label: string): FuzzRequest => {
    const body = Buffer.from(xml);
    return {
      target: 'CPU attack: signed plist',
      method: 'put',
      path: '/mdm/checkin',
      contentType: CHECKIN,
      body,
      headers: { 'Mdm-Signature': signDetached(body, apple.device.identity) },
      defect: label,
      mustRefuse: true,
    };
  };
  const head = `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>MessageType</key><string>Authenticate</string><key>UDID</key><string>${apple.device.udid}</string><key>Extra</key>`;
  const kinds: (() => FuzzRequest)[] = [
    () => ({
      target: 'CPU attack: YAML plan',
      method: 'post',
      path: `/policies/${fx.scope}/plan`,
      login: 'it.interieur',
      contentType: 'application/yaml',
      body: `mode: blocklist\nrules: []\nextra: ${'['.repeat(depth)}1${']'.repeat(depth)}\n`,
      defect: `YAML nested ${depth} deep`,
      mustRefuse: true,
    }),
    () => ({
      target: 'CPU attack: YAML plan',
      method: 'post',
      path: `/policies/${fx.scope}/plan`,
      login: 'it.interieur',
      contentType: 'application/yaml',
      body: `mode: blocklist\nrules: []\nextra: [${'1,'.repeat(Math.floor((bodyLimit - 100) / 2))}1]\n`,
      defect: 'flat YAML list as long as the body limit allows',
      mustRefuse: true,
    }),
    () =>
      signed(
        `${head}${'<array>'.repeat(plistDepth)}<string>x</string>${'</array>'.repeat(plistDepth)}</dict></plist>`,
        `plist nested ${plistDepth} deep`,
      ),
    () =>
      signed(
        `${head}<array>${'<true/>'.repeat(Math.floor((bodyLimit - 400) / 7))}</array></dict></plist>`,
        'flat plist with more elements than any message',
      ),
  ];
  return Array.from({ length: total }, (_, i) => kinds[i % kinds.length]());
}
