/**
 * The fake Android Management API (tools/fake-amapi), driven through the real googleapis client:
 * payload validation against the discovery document with Google's error shape, policy versions,
 * device paging, enrollment tokens, device simulation, Pub/Sub pushes with a verifiable OIDC
 * token, fault injection and authentication. Needs neither PostgreSQL nor the application.
 */
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { google } from 'googleapis';
import type { androidmanagement_v1 } from 'googleapis';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { DiscoveryModel, DiscoverySchema, Json, JsonObject, loadDiscovery } from '../../tools/fake-amapi/discovery';
import { FakeAmapi, startFakeAmapi } from '../../tools/fake-amapi/fake-amapi';

type Amapi = androidmanagement_v1.Androidmanagement;
type Policy = androidmanagement_v1.Schema$Policy;
type Device = androidmanagement_v1.Schema$Device;

const ENTERPRISE = 'enterprises/LC0test01';

interface GoogleErrorBody {
  error: {
    code: number;
    message: string;
    status: string;
    details?: { '@type': string; fieldViolations?: { field?: string; description: string }[] }[];
  };
}

interface FailedCall {
  status: number;
  data: GoogleErrorBody;
  headers: { get(name: string): string | null };
}

/**
 * The client as the service builds it. `fetchImplementation`: under jest, gaxios 7's default
 * (`await import('node-fetch')`) throws "A dynamic import callback was invoked without
 * --experimental-vm-modules"; Node's global fetch avoids it (plain node is not affected).
 */
function client(fake: FakeAmapi, accessToken: string | null = fake.accessToken): Amapi {
  if (accessToken === null)
    return google.androidmanagement({ version: 'v1', rootUrl: fake.url, fetchImplementation: fetch });
  const auth = new google.auth.OAuth2();
  auth.setCredentials({ access_token: accessToken });
  return google.androidmanagement({ version: 'v1', auth, rootUrl: fake.url, fetchImplementation: fetch });
}

/** Awaits a call expected to fail with an HTTP answer and returns the GaxiosError's response. */
async function failure(call: Promise<unknown>): Promise<FailedCall> {
  try {
    await call;
  } catch (error) {
    const response = (error as { response?: FailedCall }).response;
    if (response) return response;
    throw error;
  }
  throw new Error('the call succeeded');
}

/** Awaits a call expected to fail without any HTTP answer (dropped connection, timeout). */
async function transportFailure(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (error) {
    expect((error as { response?: unknown }).response).toBeUndefined();
    return error as Error;
  }
  throw new Error('the call succeeded');
}

function badRequest(description: string, field?: string): GoogleErrorBody {
  return {
    error: {
      code: 400,
      message: description,
      status: 'INVALID_ARGUMENT',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.BadRequest',
          fieldViolations: [field ? { field, description } : { description }],
        },
      ],
    },
  };
}

interface Receiver {
  url: string;
  /** Acknowledged pushes. */
  pushes: { headers: IncomingMessage['headers']; body: JsonObject }[];
  /** How many of the next pushes to refuse with 500. */
  refuse: number;
  refused: number;
  server: Server;
}

/** A Pub/Sub push receiver on a free loopback port: 204 to every push, or 500 while `refuse` > 0. */
async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = { url: '', pushes: [], refuse: 0, refused: 0, server: createServer() };
  receiver.server.on('request', (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (receiver.refuse > 0) {
        receiver.refuse -= 1;
        receiver.refused += 1;
        res.writeHead(500).end();
        return;
      }
      receiver.pushes.push({
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonObject,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/pubsub/amapi`;
  return receiver;
}

function decodeDevice(body: JsonObject): Device {
  const message = body.message as JsonObject;
  return JSON.parse(Buffer.from(String(message.data), 'base64').toString('utf8')) as Device;
}

async function newToken(
  amapi: Amapi,
  body: androidmanagement_v1.Schema$EnrollmentToken,
): Promise<androidmanagement_v1.Schema$EnrollmentToken> {
  const { data } = await amapi.enterprises.enrollmentTokens.create({ parent: ENTERPRISE, requestBody: body });
  return data;
}

describe('fake Android Management API (through googleapis)', () => {
  let fake: FakeAmapi;
  let amapi: Amapi;

  beforeAll(async () => {
    fake = await startFakeAmapi({ enterprises: [ENTERPRISE] });
    amapi = client(fake);
  });

  afterAll(async () => {
    await fake.stop();
  });

  beforeEach(() => {
    fake.resetLog();
    fake.faults = { rate: 0, kinds: ['503'] };
    fake.autoApply = false;
  });

  it('policies.patch creates a policy at version 1, then each patch bumps the version; a client-sent version is ignored', async () => {
    const name = `${ENTERPRISE}/policies/versions`;
    const first = await amapi.enterprises.policies.patch({
      name,
      requestBody: {
        version: '41',
        playStoreMode: 'BLACKLIST',
        applications: [{ packageName: 'com.whatsapp', installType: 'BLOCKED' }],
      },
    });
    expect(first.status).toBe(200);
    expect(first.data).toEqual({
      name,
      version: '1',
      playStoreMode: 'BLACKLIST',
      applications: [{ packageName: 'com.whatsapp', installType: 'BLOCKED' }],
    });

    const second = await amapi.enterprises.policies.patch({
      name,
      requestBody: { playStoreMode: 'BLACKLIST', cameraDisabled: true },
    });
    expect(second.data.version).toBe('2');
    expect(second.data.applications).toBeUndefined(); // no updateMask: the body replaces the policy

    // With an updateMask only the listed fields change.
    const third = await amapi.enterprises.policies.patch({
      name,
      updateMask: 'applications',
      requestBody: {
        cameraDisabled: false,
        applications: [{ packageName: 'org.telegram.messenger', installType: 'BLOCKED' }],
      },
    });
    expect(third.data).toMatchObject({
      version: '3',
      cameraDisabled: true,
      applications: [{ packageName: 'org.telegram.messenger', installType: 'BLOCKED' }],
    });

    const got = await amapi.enterprises.policies.get({ name });
    expect(got.data).toEqual(third.data);
    expect(fake.state.policies.get(name)?.version).toBe('3');
    expect(fake.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      `PATCH /v1/${name} 200`,
      `PATCH /v1/${name} 200`,
      `PATCH /v1/${name} 200`,
      `GET /v1/${name} 200`,
    ]);
    expect(fake.requests[2].query).toEqual({ updateMask: 'applications' });

    const list = await amapi.enterprises.policies.list({ parent: ENTERPRISE });
    expect(list.data.policies?.map((p) => p.name)).toContain(name);
  });

  it("rejects an unknown field with Google's error shape", async () => {
    const requestBody = {
      applications: [{ packageName: 'com.whatsapp', installType: 'BLOCKED', foo: 1 }],
    } as unknown as Policy;
    const res = await failure(amapi.enterprises.policies.patch({ name: `${ENTERPRISE}/policies/bad`, requestBody }));
    expect(res.status).toBe(400);
    expect(res.data).toEqual(
      badRequest(
        `Invalid JSON payload received. Unknown name "foo" at 'policy.applications[0]': Cannot find field.`,
        'policy.applications[0]',
      ),
    );
    // At the root of the body: the path is the request field, 'policy'.
    const root = await failure(
      amapi.enterprises.policies.patch({
        name: `${ENTERPRISE}/policies/bad`,
        requestBody: { appsBlocked: true } as unknown as Policy,
      }),
    );
    expect(root.data.error.message).toBe(
      `Invalid JSON payload received. Unknown name "appsBlocked" at 'policy': Cannot find field.`,
    );
    expect(fake.state.policies.has(`${ENTERPRISE}/policies/bad`)).toBe(false);
  });

  it("rejects an invalid enum value with Google's wording", async () => {
    const requestBody = { playStoreMode: 'FOO' } as unknown as Policy;
    const res = await failure(amapi.enterprises.policies.patch({ name: `${ENTERPRISE}/policies/bad`, requestBody }));
    expect(res.status).toBe(400);
    expect(res.data).toEqual(
      badRequest(
        `Invalid value at 'policy.play_store_mode' (type.googleapis.com/google.apps.androidmanagement.v1.Policy.PlayStoreMode), "FOO"`,
        'policy.play_store_mode',
      ),
    );
    // Nested enums, and the personal-usage ones the service uses.
    const nested = await failure(
      amapi.enterprises.policies.patch({
        name: `${ENTERPRISE}/policies/bad`,
        requestBody: { personalUsagePolicies: { personalPlayStoreMode: 'DENYLIST' } } as unknown as Policy,
      }),
    );
    expect(nested.data.error.details?.[0].fieldViolations).toEqual([
      {
        field: 'policy.personal_usage_policies.personal_play_store_mode',
        description: `Invalid value at 'policy.personal_usage_policies.personal_play_store_mode' (type.googleapis.com/google.apps.androidmanagement.v1.PersonalUsagePolicies.PersonalPlayStoreMode), "DENYLIST"`,
      },
    ]);
  });

  it('rejects wrong types (every violation reported, joined by newlines)', async () => {
    const requestBody = {
      cameraDisabled: 'yes',
      applications: [{ packageName: 'com.a', minimumVersionCode: 'abc' }, { packageName: 42 }],
      statusReportingSettings: 'all',
      shortSupportMessage: [{ defaultMessage: 'x' }],
    } as unknown as Policy;
    const res = await failure(amapi.enterprises.policies.patch({ name: `${ENTERPRISE}/policies/bad`, requestBody }));
    expect(res.status).toBe(400);
    const violations = res.data.error.details?.[0].fieldViolations ?? [];
    expect(violations).toEqual([
      { field: 'policy.camera_disabled', description: `Invalid value at 'policy.camera_disabled' (TYPE_BOOL), "yes"` },
      {
        field: 'policy.applications[0].minimum_version_code',
        description: `Invalid value at 'policy.applications[0].minimum_version_code' (TYPE_INT32), "abc"`,
      },
      {
        field: 'policy.applications[1].package_name',
        description: `Invalid value at 'policy.applications[1].package_name' (TYPE_STRING), 42`,
      },
      {
        field: 'policy.status_reporting_settings',
        description: `Invalid value at 'policy.status_reporting_settings' (type.googleapis.com/google.apps.androidmanagement.v1.StatusReportingSettings), "all"`,
      },
      {
        field: 'policy',
        description: `Invalid JSON payload received. Unknown name "shortSupportMessage" at 'policy': Proto field is not repeating, cannot start list.`,
      },
    ]);
    expect(res.data.error.message).toBe(violations.map((v) => v.description).join('\n'));
  });

  it('accepts a rich, valid policy unchanged (no false positives): maps, int64, durations, nested messages', async () => {
    const requestBody: Policy = {
      playStoreMode: 'BLACKLIST',
      applications: [
        {
          packageName: 'com.microsoft.teams',
          installType: 'FORCE_INSTALLED',
          minimumVersionCode: 1416,
          autoUpdateMode: 'AUTO_UPDATE_HIGH_PRIORITY',
          managedConfiguration: { server: 'https://x.gouv.fr', nested: { list: [1, 'a', true, null] } },
          defaultPermissionPolicy: 'GRANT',
          delegatedScopes: ['CERT_INSTALL', 'MANAGED_CONFIGURATIONS'],
          permissionGrants: [{ permission: 'android.permission.CAMERA', policy: 'DENY' }],
        },
        { packageName: 'com.whatsapp', installType: 'BLOCKED' },
      ],
      personalUsagePolicies: {
        personalPlayStoreMode: 'BLOCKLIST',
        personalApplications: [{ packageName: 'com.tiktok', installType: 'BLOCKED' }],
      },
      statusReportingSettings: { applicationReportsEnabled: true, softwareInfoEnabled: true },
      policyEnforcementRules: [
        {
          settingName: 'applications',
          blockAction: { blockAfterDays: 1 },
          wipeAction: { wipeAfterDays: 30, preserveFrp: true },
        },
      ],
      systemUpdate: {
        type: 'WINDOWED',
        startMinutes: 120,
        endMinutes: 240,
        freezePeriods: [{ startDate: { month: 12, day: 20 }, endDate: { month: 12, day: 31 } }],
      },
      passwordRequirements: {
        passwordMinimumLength: 6,
        passwordQuality: 'NUMERIC_COMPLEX',
        maximumFailedPasswordsForWipe: 10,
        passwordExpirationTimeout: '7776000s',
      },
      maximumTimeToLock: '300000',
      shortSupportMessage: {
        defaultMessage: 'Contactez le support',
        localizedMessages: { fr: 'Contactez le support', en: 'Contact support' },
      },
      installAppsDisabled: false,
      uninstallAppsDisabled: true,
      openNetworkConfiguration: { NetworkConfigurations: [{ GUID: 'a', Name: 'Wifi', Type: 'WiFi' }] },
    };
    const { data } = await amapi.enterprises.policies.patch({ name: `${ENTERPRISE}/policies/rich`, requestBody });
    expect(data).toEqual({ ...requestBody, name: `${ENTERPRISE}/policies/rich`, version: '1' });

    // int64 is a JSON string of digits; Google also accepts a number and answers a string.
    const asNumber = await amapi.enterprises.policies.patch({
      name: `${ENTERPRISE}/policies/int64`,
      requestBody: { maximumTimeToLock: 60000 } as unknown as Policy,
    });
    expect(asNumber.data.maximumTimeToLock).toBe('60000');
    const notDigits = await failure(
      amapi.enterprises.policies.patch({
        name: `${ENTERPRISE}/policies/int64`,
        requestBody: { maximumTimeToLock: '5 minutes' },
      }),
    );
    expect(notDigits.data.error.message).toBe(
      `Invalid value at 'policy.maximum_time_to_lock' (TYPE_INT64), "5 minutes"`,
    );
    const badDuration = await failure(
      amapi.enterprises.policies.patch({
        name: `${ENTERPRISE}/policies/int64`,
        requestBody: { passwordRequirements: { passwordExpirationTimeout: '90d' } },
      }),
    );
    expect(badDuration.data.error.message).toBe(
      `Invalid value at 'policy.password_requirements.password_expiration_timeout' (type.googleapis.com/google.protobuf.Duration), Field 'policy.password_requirements.password_expiration_timeout', Illegal duration format; duration must end with 's'`,
    );
  });

  it('enforces documented limits: 3,000 applications, 20 minimum version codes, policy id, devices.list page size', async () => {
    const applications = Array.from({ length: 3001 }, (_, i) => ({
      packageName: `com.example.app${i}`,
      installType: 'BLOCKED',
    }));
    const tooMany = await failure(
      amapi.enterprises.policies.patch({ name: `${ENTERPRISE}/policies/big`, requestBody: { applications } }),
    );
    expect(tooMany.status).toBe(400);
    expect(tooMany.data.error).toMatchObject({
      status: 'INVALID_ARGUMENT',
      message: 'A policy can have at most 3000 applications (got 3001).',
    });
    const ok = await amapi.enterprises.policies.patch({
      name: `${ENTERPRISE}/policies/big`,
      requestBody: { applications: applications.slice(0, 3000) },
    });
    expect(ok.data.applications).toHaveLength(3000);

    const versions = Array.from({ length: 21 }, (_, i) => ({
      packageName: `com.example.v${i}`,
      minimumVersionCode: 2,
    }));
    const tooManyVersions = await failure(
      amapi.enterprises.policies.patch({ name: `${ENTERPRISE}/policies/big`, requestBody: { applications: versions } }),
    );
    expect(tooManyVersions.data.error.message).toMatch(/At most 20 apps may specify a minimum version code/);

    const duplicate = await failure(
      amapi.enterprises.policies.patch({
        name: `${ENTERPRISE}/policies/dup`,
        requestBody: { applications: [{ packageName: 'com.a' }, { packageName: 'com.a', installType: 'BLOCKED' }] },
      }),
    );
    expect(duplicate.data.error.details?.[0].fieldViolations?.[0].field).toBe('policy.applications[1].package_name');

    const badId = await failure(
      amapi.enterprises.policies.patch({ name: `${ENTERPRISE}/policies/has space`, requestBody: {} }),
    );
    expect(badId.status).toBe(400);

    const negative = await failure(amapi.enterprises.devices.list({ parent: ENTERPRISE, pageSize: -1 }));
    expect(negative.status).toBe(400);
  });

  it('answers 404 NOT_FOUND for unknown enterprises, policies and devices', async () => {
    const notFound = { error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND' } };
    expect((await failure(amapi.enterprises.policies.get({ name: `${ENTERPRISE}/policies/nope` }))).data).toEqual(
      notFound,
    );
    expect((await failure(amapi.enterprises.devices.get({ name: `${ENTERPRISE}/devices/nope` }))).data).toEqual(
      notFound,
    );
    expect((await failure(amapi.enterprises.get({ name: 'enterprises/LC0nope' }))).data).toEqual(notFound);
    expect((await failure(amapi.enterprises.devices.list({ parent: 'enterprises/LC0nope' }))).status).toBe(404);
    expect(
      (await failure(amapi.enterprises.policies.patch({ name: 'enterprises/LC0nope/policies/p', requestBody: {} })))
        .status,
    ).toBe(404);
  });

  it('enrollmentTokens.create returns a value, a QR code with the provisioning extras, an expiration and echoes the request', async () => {
    await amapi.enterprises.policies.patch({
      name: `${ENTERPRISE}/policies/tokens`,
      requestBody: { playStoreMode: 'BLACKLIST' },
    });
    const before = Date.now();
    const token = await newToken(amapi, {
      policyName: 'tokens',
      duration: '600s',
      additionalData: '{"agent":"a-42"}',
      allowPersonalUsage: 'PERSONAL_USAGE_DISALLOWED',
      oneTimeOnly: true,
    });
    expect(token.name).toMatch(new RegExp(`^${ENTERPRISE}/enrollmentTokens/[^/]+$`));
    expect(token.value).toMatch(/^[A-Z]{20}$/);
    expect(token.policyName).toBe(`${ENTERPRISE}/policies/tokens`); // a bare policy id is expanded
    expect(token).toMatchObject({
      additionalData: '{"agent":"a-42"}',
      allowPersonalUsage: 'PERSONAL_USAGE_DISALLOWED',
      oneTimeOnly: true,
      duration: '600s',
    });
    const expires = Date.parse(token.expirationTimestamp ?? '');
    expect(expires).toBeGreaterThanOrEqual(before + 600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 600_000 + 1000);
    const qr = JSON.parse(token.qrCode ?? '') as Record<string, Json>;
    expect(qr['android.app.extra.PROVISIONING_DEVICE_ADMIN_COMPONENT_NAME']).toBe(
      'com.google.android.apps.work.clouddpc/.receivers.CloudDeviceAdminReceiver',
    );
    expect(qr['android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE']).toEqual({
      'com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN': token.value,
    });

    expect((await amapi.enterprises.enrollmentTokens.get({ name: token.name ?? '' })).data.value).toBe(token.value);
    expect(
      (await amapi.enterprises.enrollmentTokens.list({ parent: ENTERPRISE })).data.enrollmentTokens?.map((t) => t.name),
    ).toContain(token.name);

    // Personally-owned devices cannot use a token that disallows personal usage.
    await expect(
      fake.enroll({ enrollmentTokenValue: token.value ?? '', ownership: 'PERSONALLY_OWNED' }),
    ).rejects.toThrow(/disallows personal usage/);
    const device = await fake.enroll({ enrollmentTokenValue: token.value ?? '', deviceId: 'tok1', model: 'Pixel 9' });
    expect(device).toMatchObject({
      name: `${ENTERPRISE}/devices/tok1`,
      policyName: `${ENTERPRISE}/policies/tokens`,
      enrollmentTokenData: '{"agent":"a-42"}',
      enrollmentTokenName: token.name,
      managementMode: 'DEVICE_OWNER',
      ownership: 'COMPANY_OWNED',
      hardwareInfo: { model: 'Pixel 9' },
    });
    // One-time token: gone after use.
    expect((await failure(amapi.enterprises.enrollmentTokens.get({ name: token.name ?? '' }))).status).toBe(404);

    const tooLong = await failure(
      amapi.enterprises.enrollmentTokens.create({
        parent: ENTERPRISE,
        requestBody: { additionalData: 'x'.repeat(1025) },
      }),
    );
    expect(tooLong.data.error.details?.[0].fieldViolations?.[0].field).toBe('enrollment_token.additional_data');
    const badDuration = await failure(
      amapi.enterprises.enrollmentTokens.create({ parent: ENTERPRISE, requestBody: { duration: '1h' } }),
    );
    expect(badDuration.data.error.message).toMatch(
      /^Invalid value at 'enrollment_token.duration' \(type.googleapis.com\/google.protobuf.Duration\)/,
    );
  });

  it('pages devices.list with pageToken (230 enrolled devices; default 10, at most 100)', async () => {
    const enterprise = 'enterprises/LC0paging';
    fake.createEnterprise(enterprise);
    await amapi.enterprises.policies.patch({
      name: `${enterprise}/policies/default`,
      requestBody: { playStoreMode: 'BLACKLIST' },
    });
    const { data: token } = await amapi.enterprises.enrollmentTokens.create({ parent: enterprise, requestBody: {} });
    expect(token.policyName).toBeUndefined();
    for (let i = 0; i < 230; i++)
      await fake.enroll({ enrollmentTokenValue: token.value ?? '', deviceId: `dev${String(i).padStart(3, '0')}` });
    expect(fake.state.devices.get(`${enterprise}/devices/dev000`)?.policyName).toBe(`${enterprise}/policies/default`);

    const names: string[] = [];
    const sizes: number[] = [];
    let pageToken: string | undefined;
    do {
      const { data } = await amapi.enterprises.devices.list({ parent: enterprise, pageSize: 100, pageToken });
      sizes.push(data.devices?.length ?? 0);
      names.push(...(data.devices ?? []).map((d) => d.name ?? ''));
      pageToken = data.nextPageToken ?? undefined;
    } while (pageToken);
    expect(sizes).toEqual([100, 100, 30]);
    expect(new Set(names).size).toBe(230);
    expect(names[0]).toBe(`${enterprise}/devices/dev000`);

    const byDefault = await amapi.enterprises.devices.list({ parent: enterprise });
    expect(byDefault.data.devices).toHaveLength(10);
    const coerced = await amapi.enterprises.devices.list({ parent: enterprise, pageSize: 500 });
    expect(coerced.data.devices).toHaveLength(100);
    const badToken = await failure(amapi.enterprises.devices.list({ parent: enterprise, pageToken: 'garbage' }));
    expect(badToken.status).toBe(400);
  });

  it('simulates devices and pushes Pub/Sub notifications with an OIDC token verifiable against pubsubJwksUrl', async () => {
    const receiver = await startReceiver();
    const audience = 'https://mdm.example.gouv.fr/pubsub/amapi';
    fake.pubsub.pushEndpoint = receiver.url;
    fake.pubsub.audience = audience;
    try {
      const policyName = `${ENTERPRISE}/policies/pubsub`;
      await amapi.enterprises.policies.patch({
        name: policyName,
        requestBody: {
          playStoreMode: 'BLACKLIST',
          applications: [
            { packageName: 'com.whatsapp', installType: 'BLOCKED' },
            { packageName: 'com.google.android.youtube', installType: 'BLOCKED' },
            { packageName: 'com.microsoft.teams', installType: 'FORCE_INSTALLED' },
          ],
        },
      });
      const token = await newToken(amapi, { policyName, additionalData: 'agent-7' });
      const enrolled = await fake.enroll({
        enrollmentTokenValue: token.value ?? '',
        deviceId: 'push1',
        installedApps: ['com.whatsapp', 'com.spotify.music'],
        unremovableApps: ['com.google.android.youtube'],
      });
      expect(enrolled.appliedState).toBe('PROVISIONING');
      expect(enrolled.applicationReports?.map((r) => [r.packageName, r.state])).toEqual([
        ['com.whatsapp', 'INSTALLED'],
        ['com.spotify.music', 'INSTALLED'],
        ['com.google.android.youtube', 'INSTALLED'],
      ]);

      const [applied] = await fake.applyPolicies({ deviceNames: [enrolled.name ?? ''] });
      expect(applied).toMatchObject({
        appliedPolicyName: policyName,
        appliedPolicyVersion: '1',
        appliedState: 'ACTIVE',
        policyCompliant: false,
      });
      // WhatsApp was removed; YouTube (a system app here) could not be: APP_INSTALLED.
      expect(applied.nonComplianceDetails).toEqual([
        {
          settingName: 'applications',
          nonComplianceReason: 'APP_INSTALLED',
          packageName: 'com.google.android.youtube',
          fieldPath: 'applications[1].installType',
        },
      ]);
      const states = Object.fromEntries((applied.applicationReports ?? []).map((r) => [r.packageName, r.state]));
      expect(states).toEqual({
        'com.whatsapp': 'REMOVED',
        'com.spotify.music': 'INSTALLED',
        'com.google.android.youtube': 'INSTALLED',
        'com.microsoft.teams': 'INSTALLED',
      });

      expect(receiver.pushes.map((p) => (p.body.message as JsonObject).attributes)).toEqual([
        { notificationType: 'ENROLLMENT' },
        { notificationType: 'STATUS_REPORT' },
      ]);
      const push = receiver.pushes[1];
      expect(push.body.subscription).toBe('projects/fake-project/subscriptions/amapi');
      expect(push.body.message).toMatchObject({
        messageId: expect.stringMatching(/^\d+$/),
        publishTime: expect.any(String),
      });
      const jwt = /^Bearer (.+)$/.exec(push.headers.authorization ?? '')?.[1] ?? '';
      const { payload, protectedHeader } = await jwtVerify(jwt, createRemoteJWKSet(new URL(fake.pubsubJwksUrl)), {
        issuer: 'https://accounts.google.com',
        audience,
      });
      expect(protectedHeader.alg).toBe('RS256');
      expect(payload).toMatchObject({ email: 'amapi-push@fake-project.iam.gserviceaccount.com', email_verified: true });
      expect(payload.exp).toBeGreaterThan(Date.now() / 1000);
      await expect(
        jwtVerify(jwt, createRemoteJWKSet(new URL(fake.pubsubJwksUrl)), {
          issuer: 'https://accounts.google.com',
          audience: 'someone-else',
        }),
      ).rejects.toThrow();

      const reported = decodeDevice(push.body);
      expect(reported).toMatchObject({
        name: `${ENTERPRISE}/devices/push1`,
        appliedPolicyVersion: '1',
        enrollmentTokenData: 'agent-7',
        policyCompliant: false,
      });
      expect(decodeDevice(receiver.pushes[0].body).appliedPolicyVersion).toBeUndefined();

      // autoApply: a policy change reaches the device, which reports the new version.
      fake.autoApply = true;
      await amapi.enterprises.policies.patch({
        name: policyName,
        updateMask: 'applications',
        requestBody: { applications: [{ packageName: 'com.microsoft.teams', installType: 'FORCE_INSTALLED' }] },
      });
      await fake.idle();
      const last = decodeDevice(receiver.pushes[receiver.pushes.length - 1].body);
      expect(last).toMatchObject({ appliedPolicyVersion: '2', policyCompliant: true });
      expect(last.nonComplianceDetails).toBeUndefined();

      // devices.patch with updateMask=policyName moves the device; the next report shows it.
      await amapi.enterprises.policies.patch({
        name: `${ENTERPRISE}/policies/other`,
        requestBody: { playStoreMode: 'BLACKLIST' },
      });
      const patched = await amapi.enterprises.devices.patch({
        name: `${ENTERPRISE}/devices/push1`,
        updateMask: 'policyName',
        requestBody: { policyName: 'other', state: 'DISABLED' },
      });
      expect(patched.data).toMatchObject({ policyName: `${ENTERPRISE}/policies/other`, state: 'ACTIVE' });
      await fake.idle();
      expect(decodeDevice(receiver.pushes[receiver.pushes.length - 1].body)).toMatchObject({
        appliedPolicyName: `${ENTERPRISE}/policies/other`,
        appliedPolicyVersion: '1',
      });
      const readOnly = await failure(
        amapi.enterprises.devices.patch({
          name: `${ENTERPRISE}/devices/push1`,
          updateMask: 'appliedState',
          requestBody: { appliedState: 'ACTIVE' },
        }),
      );
      expect(readOnly.status).toBe(400);

      // The policy in use cannot be deleted.
      expect(
        (await failure(amapi.enterprises.policies.delete({ name: `${ENTERPRISE}/policies/other` }))).data.error.status,
      ).toBe('FAILED_PRECONDITION');

      // A push the endpoint refuses is retried until acknowledged.
      fake.pubsub.retryDelayMs = 10;
      receiver.refuse = 2;
      await fake.applyPolicies({ deviceNames: [`${ENTERPRISE}/devices/push1`] });
      const record = fake.pushes[fake.pushes.length - 1];
      expect(record).toMatchObject({ outcome: 'delivered', attempts: 3, lastStatus: 204 });
      expect(receiver.refused).toBe(2);

      // Deleting a device through the API publishes its DELETED state.
      await amapi.enterprises.devices.delete({ name: `${ENTERPRISE}/devices/push1` });
      await fake.idle();
      expect(decodeDevice(receiver.pushes[receiver.pushes.length - 1].body)).toMatchObject({
        state: 'DELETED',
        appliedState: 'DELETED',
      });
    } finally {
      fake.pubsub.pushEndpoint = undefined;
      fake.pubsub.audience = undefined;
      fake.autoApply = false;
      await fake.idle();
      await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
    }
  });

  it('drift: deleteDeviceOnGoogleSide removes a device without any API call', async () => {
    const token = await newToken(amapi, {});
    const device = await fake.enroll({ enrollmentTokenValue: token.value ?? '', deviceId: 'drift1' });
    fake.resetLog();
    expect(fake.deleteDeviceOnGoogleSide(device.name ?? '')).toBe(true);
    expect(fake.requests).toHaveLength(0);
    expect((await failure(amapi.enterprises.devices.get({ name: device.name ?? '' }))).status).toBe(404);
  });

  it('failNext(1, "429") answers 429 RESOURCE_EXHAUSTED with Retry-After; other faults', async () => {
    const name = `${ENTERPRISE}/policies/faults`;
    await amapi.enterprises.policies.patch({ name, requestBody: {} });
    fake.faults.retryAfterSeconds = 7;
    fake.failNext(1, '429');
    const limited = await failure(amapi.enterprises.policies.get({ name }, { retry: false }));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.data.error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
    expect((await amapi.enterprises.policies.get({ name }, { retry: false })).status).toBe(200);

    // gaxios retries idempotent calls on 503 by itself.
    fake.failNext(1, '503');
    expect((await amapi.enterprises.policies.get({ name })).status).toBe(200);
    expect(fake.requests.slice(-2).map((r) => r.status)).toEqual([503, 200]);

    fake.failNext(1, '500');
    expect((await failure(amapi.enterprises.policies.patch({ name, requestBody: {} }))).data.error).toMatchObject({
      code: 500,
      status: 'INTERNAL',
    });

    fake.failNext(1, 'drop');
    await transportFailure(amapi.enterprises.policies.get({ name }, { retry: false }));
    fake.failNext(1, 'timeout');
    await transportFailure(amapi.enterprises.policies.get({ name }, { retry: false, timeout: 300 }));
    expect(fake.requests.slice(-2).map((r) => [r.fault, r.status])).toEqual([
      ['drop', 0],
      ['timeout', 0],
    ]);

    // Random faults at rate 1 with latency.
    fake.faults = { rate: 1, kinds: ['503'], latencyMs: 20 };
    const started = Date.now();
    expect((await failure(amapi.enterprises.policies.get({ name }, { retry: false }))).status).toBe(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it("rejects calls without the access token (401 UNAUTHENTICATED in Google's shape)", async () => {
    const missing = await failure(
      client(fake, null).enterprises.policies.get({ name: `${ENTERPRISE}/policies/versions` }),
    );
    expect(missing.status).toBe(401);
    expect(missing.data.error).toMatchObject({
      code: 401,
      status: 'UNAUTHENTICATED',
      message: expect.stringMatching(/^Request is missing required authentication credential/),
    });
    const wrong = await failure(
      client(fake, 'not-the-token').enterprises.policies.get({ name: `${ENTERPRISE}/policies/versions` }),
    );
    expect(wrong.status).toBe(401);
    expect(wrong.data.error.message).toMatch(/^Request had invalid authentication credentials/);
  });

  it('enterprises and signup URLs: create, get, list (projectId), patch with updateMask', async () => {
    const signup = await amapi.signupUrls.create({
      projectId: 'fake-project',
      callbackUrl: 'https://mdm.example.gouv.fr/signup/done',
    });
    expect(signup.data.name).toMatch(/^signupUrls\//);
    const redirect = await fetch(signup.data.url ?? '', { redirect: 'manual' });
    const enterpriseToken = new URL(redirect.headers.get('location') ?? '').searchParams.get('enterpriseToken') ?? '';
    const created = await amapi.enterprises.create({
      projectId: 'fake-project',
      signupUrlName: signup.data.name ?? '',
      enterpriseToken,
      requestBody: {
        enterpriseDisplayName: 'Ministère',
        pubsubTopic: 'projects/fake-project/topics/amapi',
        enabledNotificationTypes: ['ENROLLMENT', 'STATUS_REPORT'],
      },
    });
    expect(created.data.name).toMatch(/^enterprises\/LC0/);
    const listed = await amapi.enterprises.list({ projectId: 'fake-project', pageSize: 100 });
    expect(listed.data.enterprises?.map((e) => e.name)).toContain(created.data.name);
    const patched = await amapi.enterprises.patch({
      name: created.data.name ?? '',
      updateMask: 'enterpriseDisplayName',
      requestBody: { enterpriseDisplayName: 'DINUM', pubsubTopic: 'ignored' },
    });
    expect(patched.data).toMatchObject({
      enterpriseDisplayName: 'DINUM',
      pubsubTopic: 'projects/fake-project/topics/amapi',
    });
    const badEnum = await failure(
      amapi.enterprises.create({ projectId: 'p', requestBody: { enabledNotificationTypes: ['EVERYTHING'] } }),
    );
    expect(badEnum.data.error.details?.[0].fieldViolations?.[0].field).toBe('enterprise.enabled_notification_types[0]');
  });

  it('validates request bodies of methods the fake does not implement (then answers 501)', async () => {
    const invalid = await failure(
      amapi.enterprises.devices.issueCommand({
        name: `${ENTERPRISE}/devices/x`,
        requestBody: { type: 'SELF_DESTRUCT' } as unknown as androidmanagement_v1.Schema$Command,
      }),
    );
    expect(invalid.status).toBe(400);
    expect(invalid.data.error.message).toMatch(/^Invalid value at 'command.type'/);
    const missing = await failure(amapi.enterprises.migrationTokens.create({ parent: ENTERPRISE, requestBody: {} }));
    expect(missing.status).toBe(400);
    expect(missing.data.error.message).toContain("Required field 'migration_token.device_id' is missing or empty.");
    const valid = await failure(
      amapi.enterprises.migrationTokens.create({
        parent: ENTERPRISE,
        requestBody: {
          deviceId: 'd',
          userId: 'u',
          managementMode: 'FULLY_MANAGED',
          policy: `${ENTERPRISE}/policies/p`,
        },
      }),
    );
    expect(valid.status).toBe(501);
  });
});

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
).toString('base64url');

describe('fake Android Management API: as strict as Google (the discovery document is the contract)', () => {
  let fake: FakeAmapi;
  let amapi: Amapi;
  const E = 'enterprises/LC0strict';

  beforeAll(async () => {
    fake = await startFakeAmapi({ enterprises: [E] });
    amapi = client(fake);
  });
  afterAll(async () => {
    await fake.stop();
  });

  async function device(id: string, ownership: 'COMPANY_OWNED' | 'PERSONALLY_OWNED' = 'COMPANY_OWNED') {
    await amapi.enterprises.policies.patch({ name: `${E}/policies/base`, requestBody: { playStoreMode: 'BLACKLIST' } });
    const { data: token } = await amapi.enterprises.enrollmentTokens.create({
      parent: E,
      requestBody: { policyName: 'base' },
    });
    return fake.enroll({ enrollmentTokenValue: token.value ?? '', deviceId: id, ownership });
  }

  it('refuses a web app without icons ("Must have at least one element"), or with an icon that is not a png/jpg/webp in base64url', async () => {
    const noIcon = await failure(
      amapi.enterprises.webApps.create({
        parent: E,
        requestBody: { title: 'Visio', startUrl: 'https://visio.numerique.gouv.fr', displayMode: 'STANDALONE' },
      }),
    );
    expect(noIcon.status).toBe(400);
    expect(noIcon.data.error.status).toBe('INVALID_ARGUMENT');
    expect(noIcon.data.error.details?.[0].fieldViolations?.[0]).toEqual({
      field: 'web_app.icons',
      description: expect.stringContaining('Must have at least one element'),
    });
    const notBase64url = await failure(
      amapi.enterprises.webApps.create({
        parent: E,
        requestBody: { title: 'Visio', startUrl: 'https://visio.numerique.gouv.fr', icons: [{ imageData: 'a+b/c' }] },
      }),
    );
    expect(notBase64url.data.error.details?.[0].fieldViolations?.[0].field).toBe('web_app.icons[0].image_data');
    const notImage = await failure(
      amapi.enterprises.webApps.create({
        parent: E,
        requestBody: {
          title: 'Visio',
          startUrl: 'https://visio.numerique.gouv.fr',
          icons: [{ imageData: Buffer.from('<svg/>').toString('base64url') }],
        },
      }),
    );
    expect(notImage.data.error.message).toContain('not a png, jpg or webp');
    expect(fake.state.webApps.size).toBe(0);

    const { data: created } = await amapi.enterprises.webApps.create({
      parent: E,
      requestBody: { title: 'Visio', startUrl: 'https://visio.numerique.gouv.fr', icons: [{ imageData: PNG }] },
    });
    expect(created.name).toMatch(new RegExp(`^${E}/webApps/com\\.google\\.enterprise\\.webapp\\.`));
    // A patch cannot take the icons away, even through an update mask.
    const emptied = await failure(
      amapi.enterprises.webApps.patch({ name: created.name ?? '', updateMask: 'icons', requestBody: { icons: [] } }),
    );
    expect(emptied.status).toBe(400);
    const renamed = await amapi.enterprises.webApps.patch({
      name: created.name ?? '',
      updateMask: 'title',
      requestBody: { title: 'Visio (État)' },
    });
    expect(renamed.data).toMatchObject({ title: 'Visio (État)', icons: [{ imageData: PNG }], versionCode: '2' });
  });

  it('refuses references to what does not exist: a web app in a policy, a policy in an enrollment token or a device', async () => {
    const ghost = 'com.google.enterprise.webapp.x0123456789abcdef';
    const policy = await failure(
      amapi.enterprises.policies.patch({
        name: `${E}/policies/refs`,
        requestBody: { applications: [{ packageName: ghost, installType: 'FORCE_INSTALLED' }] },
      }),
    );
    expect(policy.status).toBe(400);
    expect(policy.data.error.details?.[0].fieldViolations?.[0]).toEqual({
      field: 'policy.applications[0].package_name',
      description: `Web app ${E}/webApps/${ghost} not found: create it with webApps.create first.`,
    });
    expect(fake.state.policies.has(`${E}/policies/refs`)).toBe(false);

    const token = await failure(
      amapi.enterprises.enrollmentTokens.create({ parent: E, requestBody: { policyName: 'nowhere' } }),
    );
    expect(token.status).toBe(400);
    expect(token.data.error.message).toBe(`Policy ${E}/policies/nowhere not found.`);

    const phone = await device('refs1');
    const patch = await failure(
      amapi.enterprises.devices.patch({
        name: phone.name ?? '',
        updateMask: 'policyName',
        requestBody: { policyName: 'nowhere' },
      }),
    );
    expect(patch.data.error).toMatchObject({ code: 404, status: 'NOT_FOUND' });
  });

  it('enforces the "must" sentences of the document in policies: no duplicate wipe flags, minutes within 0-1439, block and wipe actions together, a default message, a private DNS host only with its mode', async () => {
    const bad = await failure(
      amapi.enterprises.policies.patch({
        name: `${E}/policies/musts`,
        requestBody: {
          wipeDataFlags: ['WIPE_ESIMS', 'WIPE_ESIMS'],
          systemUpdate: { type: 'WINDOWED', startMinutes: 1440, endMinutes: 60 },
          policyEnforcementRules: [{ settingName: 'passwordPolicies', blockAction: { blockAfterDays: 0 } }],
          shortSupportMessage: { localizedMessages: { fr: 'Contactez le support' } },
          deviceConnectivityManagement: { privateDnsSettings: { privateDnsMode: 'PRIVATE_DNS_SPECIFIED_HOST' } },
        },
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad.data.error.details?.[0].fieldViolations?.map((v) => v.field).sort()).toEqual(
      [
        'policy.device_connectivity_management.private_dns_settings',
        'policy.policy_enforcement_rules[0]',
        'policy.short_support_message',
        'policy.system_update.start_minutes',
        'policy.wipe_data_flags',
      ].sort(),
    );
    expect(bad.data.error.message).toContain(
      'A default message must be provided if any localized messages are provided.',
    );
    await amapi.enterprises.policies.patch({
      name: `${E}/policies/musts`,
      requestBody: {
        wipeDataFlags: ['WIPE_ESIMS'],
        systemUpdate: { type: 'WINDOWED', startMinutes: 120, endMinutes: 60 },
        policyEnforcementRules: [
          { settingName: 'passwordPolicies', blockAction: { blockAfterDays: 0 }, wipeAction: { wipeAfterDays: 7 } },
        ],
        shortSupportMessage: { defaultMessage: 'Contact support', localizedMessages: { fr: 'Contactez le support' } },
        deviceConnectivityManagement: {
          privateDnsSettings: { privateDnsMode: 'PRIVATE_DNS_SPECIFIED_HOST', privateDnsHost: 'dns.gouv.fr' },
        },
      },
    });
  });

  it('publishes Pub/Sub notifications only when the enterprise has a topic and the type is enabled', async () => {
    const received: string[] = [];
    const receiver = await startReceiver();
    fake.pubsub.pushEndpoint = receiver.url;
    fake.pubsub.audience = 'aud';
    try {
      const silent = 'enterprises/LC0silent';
      fake.createEnterprise({ name: silent, pubsubTopic: undefined, enabledNotificationTypes: undefined });
      await amapi.enterprises.policies.patch({
        name: `${silent}/policies/p`,
        requestBody: { playStoreMode: 'BLACKLIST' },
      });
      const token = await amapi.enterprises.enrollmentTokens.create({
        parent: silent,
        requestBody: { policyName: 'p' },
      });
      const phone = await fake.enroll({ enrollmentTokenValue: token.data.value ?? '' });
      await fake.applyPolicies({ deviceNames: [phone.name ?? ''] });
      await fake.idle();
      expect(receiver.pushes).toHaveLength(0);
      // Types without a topic: refused, as "This field is only required if Pub/Sub notifications are enabled."
      const noTopic = await failure(
        amapi.enterprises.patch({
          name: silent,
          updateMask: 'enabledNotificationTypes',
          requestBody: { enabledNotificationTypes: ['STATUS_REPORT'] },
        }),
      );
      expect(noTopic.data.error.details?.[0].fieldViolations?.[0].field).toBe('enterprise.pubsub_topic');
      // A topic and STATUS_REPORT only: status reports, no enrollment.
      await amapi.enterprises.patch({
        name: silent,
        updateMask: 'pubsubTopic,enabledNotificationTypes',
        requestBody: { pubsubTopic: 'projects/p/topics/t', enabledNotificationTypes: ['STATUS_REPORT'] },
      });
      await fake.enroll({ enrollmentTokenValue: token.data.value ?? '' });
      await fake.applyPolicies({ deviceNames: [phone.name ?? ''] });
      await fake.idle();
      for (const push of receiver.pushes)
        received.push(String(((push.body.message as JsonObject).attributes as JsonObject).notificationType));
      expect(received).toEqual(['STATUS_REPORT']);
    } finally {
      fake.pubsub.pushEndpoint = undefined;
      await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
    }
  });

  it('devices.issueCommand: returns an Operation holding the Command; the device carries it out when online; refuses what the document refuses', async () => {
    const phone = await device('cmd1');
    const { data: op } = await amapi.enterprises.devices.issueCommand({
      name: phone.name ?? '',
      requestBody: { type: 'LOCK' },
    });
    expect(op).toMatchObject({
      name: expect.stringMatching(new RegExp(`^${phone.name}/operations/\\d+$`)),
      done: false,
      metadata: {
        '@type': 'type.googleapis.com/google.apps.androidmanagement.v1.Command',
        type: 'LOCK',
        duration: '600s',
        createTime: expect.any(String),
      },
    });
    await fake.applyPolicies({ deviceNames: [phone.name ?? ''] });
    expect((await amapi.enterprises.devices.operations.get({ name: op.name ?? '' })).data.done).toBe(true);
    const listed = await amapi.enterprises.devices.operations.list({ name: `${phone.name}/operations` });
    expect(listed.data.operations?.map((o) => o.name)).toEqual([op.name]);

    // The type follows its parameters ("the server automatically sets it").
    const { data: clear } = await amapi.enterprises.devices.issueCommand({
      name: phone.name ?? '',
      requestBody: { clearAppsDataParams: { packageNames: ['fr.gouv.tchap.a'] } },
    });
    expect(clear.metadata?.type).toBe('CLEAR_APP_DATA');

    const refusals: [androidmanagement_v1.Schema$Command, string][] = [
      [{}, 'command.type'],
      [{ type: 'LOCK', newPassword: '123456' }, 'command.new_password'],
      [{ type: 'CLEAR_APP_DATA' }, 'command.clear_apps_data_params.package_names'],
      [{ type: 'LOCK', clearAppsDataParams: { packageNames: ['x'] } }, 'command.type'],
      [{ type: 'START_LOST_MODE', startLostModeParams: {} }, 'command.start_lost_mode_params'],
    ];
    for (const [requestBody, field] of refusals) {
      const refused = await failure(amapi.enterprises.devices.issueCommand({ name: phone.name ?? '', requestBody }));
      expect([refused.status, refused.data.error.details?.[0].fieldViolations?.[0].field]).toEqual([400, field]);
    }
    const personal = await device('cmd2', 'PERSONALLY_OWNED');
    const reboot = await failure(
      amapi.enterprises.devices.issueCommand({ name: personal.name ?? '', requestBody: { type: 'REBOOT' } }),
    );
    expect(reboot.data.error).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
    expect(
      (
        await failure(
          amapi.enterprises.devices.issueCommand({ name: `${E}/devices/none`, requestBody: { type: 'LOCK' } }),
        )
      ).status,
    ).toBe(404);

    // A numeric password under 6 digits fails on Android 14, on the device, with INVALID_VALUE.
    const { data: reset } = await amapi.enterprises.devices.issueCommand({
      name: phone.name ?? '',
      requestBody: { type: 'RESET_PASSWORD', newPassword: '1234', resetPasswordFlags: ['LOCK_NOW'] },
    });
    await fake.applyPolicies({ deviceNames: [phone.name ?? ''] });
    const done = (await amapi.enterprises.devices.operations.get({ name: reset.name ?? '' })).data;
    expect(done).toMatchObject({ done: true, metadata: { errorCode: 'INVALID_VALUE' }, error: { code: 3 } });

    // WIPE: the device is deleted once it acknowledges the command.
    await amapi.enterprises.devices.issueCommand({ name: phone.name ?? '', requestBody: { type: 'WIPE' } });
    expect(fake.state.devices.has(phone.name ?? '')).toBe(true);
    await fake.applyPolicies({ deviceNames: [phone.name ?? ''] });
    expect(fake.state.devices.has(phone.name ?? '')).toBe(false);
  });

  it('devices.delete validates wipeDataFlags and wipeReasonMessage (200 characters at most) and keeps what the phone was wiped with', async () => {
    const phone = await device('del1', 'PERSONALLY_OWNED');
    const tooLong = await failure(
      amapi.enterprises.devices.delete({ name: phone.name ?? '', wipeReasonMessage: 'x'.repeat(201) }),
    );
    expect(tooLong.data.error.details?.[0].fieldViolations?.[0].field).toBe('wipe_reason_message');
    const badFlag = await failure(
      amapi.enterprises.devices.delete({ name: phone.name ?? '', wipeDataFlags: ['WIPE_EVERYTHING'] }),
    );
    expect(badFlag.data.error.message).toMatch(/^Invalid value at 'wipe_data_flags'/);
    const twice = await failure(
      amapi.enterprises.devices.delete({ name: phone.name ?? '', wipeDataFlags: ['WIPE_ESIMS', 'WIPE_ESIMS'] }),
    );
    expect(twice.status).toBe(400);
    expect(fake.state.devices.has(phone.name ?? '')).toBe(true);
    await amapi.enterprises.devices.delete({
      name: phone.name ?? '',
      wipeDataFlags: ['WIPE_ESIMS'],
      wipeReasonMessage: 'Vous quittez le ministère.',
    });
    expect(fake.state.deletions.at(-1)).toMatchObject({
      device: { name: phone.name, ownership: 'PERSONALLY_OWNED' },
      wipeDataFlags: ['WIPE_ESIMS'],
      wipeReasonMessage: 'Vous quittez le ministère.',
    });
    expect((await failure(amapi.enterprises.devices.get({ name: phone.name ?? '' }))).status).toBe(404);
  });

  it('policies.delete is refused (FAILED_PRECONDITION) while a device uses the policy', async () => {
    const phone = await device('pol1');
    const refused = await failure(amapi.enterprises.policies.delete({ name: `${E}/policies/base` }));
    expect(refused.data.error).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
    await amapi.enterprises.devices.delete({ name: phone.name ?? '' });
    for (const other of [...fake.state.devices.values()].filter((d) => d.policyName === `${E}/policies/base`))
      await amapi.enterprises.devices.delete({ name: other.name ?? '' });
    await amapi.enterprises.policies.delete({ name: `${E}/policies/base` });
  });

  it('enrollment tokens: allowPersonalUsage is kept and enforced; the QR code and the enrollment link carry the value', async () => {
    await amapi.enterprises.policies.patch({ name: `${E}/policies/tok`, requestBody: { playStoreMode: 'BLACKLIST' } });
    const { data: userless } = await amapi.enterprises.enrollmentTokens.create({
      parent: E,
      requestBody: { policyName: 'tok', allowPersonalUsage: 'PERSONAL_USAGE_DISALLOWED_USERLESS' },
    });
    expect(userless.allowPersonalUsage).toBe('PERSONAL_USAGE_DISALLOWED_USERLESS');
    await expect(
      fake.enroll({ enrollmentTokenValue: userless.value ?? '', ownership: 'PERSONALLY_OWNED' }),
    ).rejects.toThrow(/disallows personal usage/);
    const { data: allowed } = await amapi.enterprises.enrollmentTokens.create({
      parent: E,
      requestBody: { policyName: 'tok', allowPersonalUsage: 'PERSONAL_USAGE_ALLOWED' },
    });
    expect(allowed.qrCode).toContain(allowed.value);
    // The enrollment link of personally owned phones is built from the value alone.
    const link = `https://enterprise.google.com/android/enroll?et=${allowed.value}`;
    expect(new URL(link).searchParams.get('et')).toBe(allowed.value);
    const personal = await fake.enroll({ enrollmentTokenValue: allowed.value ?? '', ownership: 'PERSONALLY_OWNED' });
    expect(personal).toMatchObject({ ownership: 'PERSONALLY_OWNED', managementMode: 'PROFILE_OWNER' });
  });

  it('signupUrls.create: the admin email must belong to one of allowedDomains ("*." admits subdomains)', async () => {
    const outside = await failure(
      amapi.signupUrls.create({
        projectId: 'fake-project',
        callbackUrl: 'https://mdm.example.gouv.fr/cb',
        adminEmail: 'it@gmail.com',
        allowedDomains: ['interieur.gouv.fr'],
      }),
    );
    expect(outside.data.error.details?.[0].fieldViolations?.[0].field).toBe('admin_email');
    const sub = await failure(
      amapi.signupUrls.create({
        projectId: 'fake-project',
        adminEmail: 'it@dgpn.interieur.gouv.fr',
        allowedDomains: ['interieur.gouv.fr'],
      }),
    );
    expect(sub.status).toBe(400);
    const ok = await amapi.signupUrls.create({
      projectId: 'fake-project',
      adminEmail: 'it@dgpn.interieur.gouv.fr',
      allowedDomains: ['interieur.gouv.fr', '*.interieur.gouv.fr'],
    });
    expect(ok.data.name).toMatch(/^signupUrls\//);
  });
});

describe('discovery validator', () => {
  const model: DiscoveryModel = loadDiscovery();

  /** A value for every field of a schema (depth-limited), as a client following the document would send. */
  function sample(schema: DiscoverySchema, depth: number, seen: string[]): Json | undefined {
    if (schema.$ref) {
      if (seen.includes(schema.$ref) || depth > 4) return undefined;
      return sample(model.schema(schema.$ref), depth + 1, [...seen, schema.$ref]);
    }
    if (schema.enum) return schema.enum[schema.enum.length - 1];
    switch (schema.type) {
      case 'object': {
        if (!schema.properties)
          return {
            key: schema.additionalProperties ? (sample(schema.additionalProperties, depth + 1, seen) ?? 'x') : 'x',
          };
        const out: JsonObject = {};
        for (const [name, field] of Object.entries(schema.properties)) {
          const v = sample(field, depth, seen);
          if (v !== undefined) out[name] = v;
        }
        return out;
      }
      case 'array': {
        const item = schema.items ? sample(schema.items, depth, seen) : 'x';
        return item === undefined ? undefined : [item];
      }
      case 'boolean':
        return true;
      case 'integer':
        return 7;
      case 'number':
        return 1.5;
      case 'any':
        return { any: ['thing'] };
      default:
        switch (schema.format) {
          case 'int64':
            return '9007199254740993';
          case 'google-datetime':
            return '2026-04-08T10:00:00.123456789Z';
          case 'google-duration':
            return '3.5s';
          case 'byte':
            return 'aGVsbG8=';
          default:
            return 'text';
        }
    }
  }

  it.each(['Policy', 'Device', 'EnrollmentToken', 'Enterprise', 'WebApp', 'Command'])(
    'accepts a %s with every field set (no false positives)',
    (name) => {
      const value = sample(model.schema(name), 0, [name]);
      const result = model.validateBody(name, value, 'x', { stripOutputOnly: false, enforceRequired: false });
      expect(result.violations).toEqual([]);
      expect(result.value).toEqual(value);
    },
  );

  it('accepts proto (snake_case) field names like Google and answers camelCase; drops output-only fields', () => {
    const result = model.validateBody(
      'Policy',
      { play_store_mode: 'BLACKLIST', version: '3', status_reporting_settings: { application_reports_enabled: true } },
      'policy',
      {
        stripOutputOnly: true,
        enforceRequired: true,
      },
    );
    expect(result).toEqual({
      violations: [],
      value: { playStoreMode: 'BLACKLIST', statusReportingSettings: { applicationReportsEnabled: true } },
    });
  });

  it('enforces fields the document marks "Required."', () => {
    const result = model.validateBody('ModifyPolicyApplicationsRequest', {}, '', {
      stripOutputOnly: true,
      enforceRequired: true,
    });
    expect(result.violations).toEqual([
      { field: 'changes', description: "Required field 'changes' is missing or empty." },
    ]);
  });

  it('routes every method of the document by verb and path', () => {
    expect(model.routes.length).toBeGreaterThanOrEqual(30);
    const match = model.match('POST', '/v1/enterprises/E1/devices/D1:issueCommand');
    expect(match.kind === 'ok' && match.route.method.id).toBe('androidmanagement.enterprises.devices.issueCommand');
    const get = model.match('GET', '/v1/enterprises/E1/devices/D1');
    expect(get.kind === 'ok' && get.params).toEqual({ name: 'enterprises/E1/devices/D1' });
    expect(model.match('PUT', '/v1/enterprises/E1/devices/D1').kind).toBe('wrong-verb');
    expect(model.match('GET', '/v1/nothing').kind).toBe('none');
  });
});
