import { createServer, Server } from 'node:http';
import { Client } from 'pg';
import type { androidmanagement_v1 } from 'googleapis';
import { FakeAmapi, startFakeAmapi } from '../../tools/fake-amapi/fake-amapi';
import { PubsubPusher } from '../../tools/fake-amapi/pubsub';
import { FakePubsub, FakeSubscription, startFakePubsub } from '../../tools/fake-pubsub/fake-pubsub';
import { AndroidPubsubPullService } from '../src/android/android-pubsub-pull.service';
import { SERVICE_ROLE } from '../src/database/service-role';
import { drainRolloutJobs } from './support/drain-jobs';
import { fakeAmapiSettings, PUBSUB_AUDIENCE } from './support/fake-amapi-settings';
import { startTestApp, TestApp } from './support/test-app';

/**
 * Status reports at fleet scale (issue 14 item 4): pulled from a Pub/Sub subscription in batches
 * (a strict local fake of Google's Pub/Sub REST API), applied in the order of their
 * `lastStatusReportTime`, every notification type acknowledged; push kept, and authenticated.
 */
let fake: FakeAmapi;
let pubsub: FakePubsub;
let subscription: FakeSubscription;
let t: TestApp;
let pull: AndroidPubsubPullService;
let jwks: Server;
/** Signs pushes as Google would for the configured service account, and as an intruder. */
const google = new PubsubPusher({ serviceAccountEmail: 'amapi-push@mdm-etat.iam.gserviceaccount.com' });
const intruder = new PubsubPusher({ serviceAccountEmail: 'someone@elsewhere.iam.gserviceaccount.com' });
const ENTERPRISE = 'enterprises/LC0ingestion';
const SUBSCRIPTION = 'projects/mdm-etat/subscriptions/amapi-reports';
type Device = androidmanagement_v1.Schema$Device;

/** Pulls until the subscription has nothing ready; the number of messages handled. */
async function pullAll(): Promise<number> {
  let total = 0;
  for (;;) {
    const { received } = await pull.pullOnce();
    if (received === 0) return total;
    total += received;
  }
}

/** Rollout jobs, the fake phones' reports, and their ingestion, until everything is quiet. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await drainRolloutJobs(t);
    await fake.idle();
    await pullAll();
  }
}

async function enroll(installedApps: string[] = []): Promise<string> {
  const it = await t.as('it.interieur');
  const token = await it
    .post('/ministries/interieur/android/enrollment-tokens')
    .send({ durationMinutes: 60, personalUsage: 'allowed' })
    .expect(201);
  const device = await fake.enroll({ enrollmentTokenValue: token.body.value, installedApps });
  await fake.idle();
  return device.name as string;
}

function message(type: string, data?: object, publishTime = new Date().toISOString()) {
  return {
    data: data === undefined ? '' : Buffer.from(JSON.stringify(data)).toString('base64'),
    attributes: { notificationType: type },
    messageId: String(Math.floor(Math.random() * 1e12)),
    publishTime,
  };
}

/** The phone's current Device on Google's side, as reported at `time` with these packages installed too. */
function reportAt(name: string, time: string, packages: string[]): Device {
  const device = structuredClone(fake.state.devices.get(name)) as Device;
  return {
    ...device,
    lastStatusReportTime: time,
    applicationReports: [
      ...(device.applicationReports ?? []),
      ...packages.map((packageName) => ({ packageName, state: 'INSTALLED', versionName: '1.0' })),
    ],
  };
}

async function row(name: string) {
  const [r] = (await t.db.query(
    `SELECT id, installed_apps, compliance, banned_apps, android_report_time, applied_hash, push_state FROM device WHERE android_device_name = $1`,
    [name],
  )) as {
    id: string;
    installed_apps: { id: string }[];
    compliance: string;
    banned_apps: string[];
    android_report_time: Date | null;
    applied_hash: string | null;
    push_state: string;
  }[];
  return r;
}

async function push(body: object, token: string | undefined): Promise<Response> {
  return fetch(`${t.url}/android/pubsub`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [google.jwks().keys, intruder.jwks().keys].flat() }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const address = jwks.address() as { port: number };
  fake = await startFakeAmapi({
    enterprises: [ENTERPRISE],
    projectId: 'mdm-etat',
    autoApply: true,
    autoApplyDelayMs: 5,
  });
  pubsub = await startFakePubsub({ accessToken: fake.accessToken, pullWaitMs: 20 });
  subscription = pubsub.createSubscription(SUBSCRIPTION, 10);
  // Google publishes the enterprise's notifications to the topic; our subscription stores them.
  fake.pubsub.pullSubscription = subscription;
  const settings = fakeAmapiSettings(fake);
  t = await startTestApp({
    listen: true,
    android: {
      ...settings,
      reports: 'pull',
      pubsub: {
        ...settings.pubsub,
        subscription: SUBSCRIPTION,
        rootUrl: pubsub.url,
        jwksUrl: `http://127.0.0.1:${address.port}/certs`,
        serviceAccountEmail: google.serviceAccountEmail,
      },
    },
  });
  pull = t.app.get(AndroidPubsubPullService);
  await t.db.query(`UPDATE device SET unenrolled_at = now() WHERE platform = 'android'`);
  await (
    await t.as('it.interieur')
  )
    .put('/ministries/interieur/android/enterprise')
    .send({ enterpriseName: ENTERPRISE })
    .expect(200);
});
afterAll(async () => {
  await t.close();
  await fake.stop();
  await pubsub.stop();
  await new Promise((r) => jwks.close(r));
});

describe('Android status reports pulled from Pub/Sub', () => {
  it('ingests a batch of reports with one pull and one acknowledge, and leaves the subscription empty', async () => {
    const phones = [];
    for (let i = 0; i < 4; i++) phones.push(await enroll());
    await settle();
    for (const name of phones) expect(await row(name)).toMatchObject({ compliance: 'compliant', push_state: 'ok' });
    expect(subscription.backlog).toBe(0);

    // The agents install an app of their own: the four reports wait in the subscription…
    for (const name of phones) fake.setInstalledApps(name, ['org.example.notes']);
    pubsub.requests.length = 0;
    await fake.applyPolicies({ deviceNames: phones });
    await fake.idle();
    expect(subscription.backlog).toBeGreaterThanOrEqual(4);
    // …and come in with one pull, one write, one acknowledge.
    const outcome = await pull.pullOnce();
    expect(outcome.received).toBeGreaterThanOrEqual(4);
    expect(outcome.acknowledged).toBe(outcome.received);
    expect(pubsub.requests.map((r) => [r.method, r.status])).toEqual([
      ['pull', 200],
      ['acknowledge', 200],
    ]);
    expect(subscription.backlog).toBe(0);
    for (const name of phones) {
      const r = await row(name);
      expect(r.installed_apps.map((a) => a.id)).toContain('org.example.notes');
      expect(r.android_report_time?.toISOString()).toBe(
        new Date(fake.state.devices.get(name)?.lastStatusReportTime as string).toISOString(),
      );
    }
    // Google's record of the deliveries: every one acknowledged.
    expect(fake.pushes.filter((p) => p.outcome !== 'delivered')).toEqual([]);
  });

  it('redelivers what was not acknowledged: a failed acknowledge is pulled again once its deadline passed', async () => {
    const name = await enroll();
    await settle();
    fake.setInstalledApps(name, ['org.example.notes']);
    await fake.applyPolicies({ deviceNames: [name] });
    await fake.idle();
    pubsub.failNext(1, 'acknowledge', 503);
    await expect(pull.pullOnce()).rejects.toThrow();
    expect(subscription.outstanding).toBe(1);
    // Not acknowledged: nothing else to pull until the ack deadline passes.
    expect((await pull.pullOnce()).received).toBe(0);
    subscription.expireAckDeadlines();
    expect(await pull.pullOnce()).toEqual({ received: 1, acknowledged: 1 });
    expect(subscription.backlog).toBe(0);
    // Applied twice, the same report: the phone's state is that report's.
    expect((await row(name)).installed_apps.map((a) => a.id)).toContain('org.example.notes');
  });

  it('hands a batch it could not write back at once: redelivered without waiting for its deadline', async () => {
    const name = await enroll();
    await settle();
    fake.setInstalledApps(name, ['org.example.maps']);
    await fake.applyPolicies({ deviceNames: [name] });
    await fake.idle();
    // The database refuses the write (the service's role loses UPDATE on device for a moment).
    const owner = new Client({ connectionString: t.databaseUrl });
    await owner.connect();
    try {
      await owner.query(`REVOKE UPDATE ON device FROM ${SERVICE_ROLE}`);
      await expect(pull.pullOnce()).rejects.toThrow(/permission denied/);
    } finally {
      await owner.query(`GRANT UPDATE ON device TO ${SERVICE_ROLE}`);
      await owner.end();
    }
    expect(subscription.outstanding).toBe(0);
    expect(subscription.backlog).toBe(1);
    expect((await row(name)).installed_apps.map((a) => a.id)).not.toContain('org.example.maps');
    expect(await pull.pullOnce()).toEqual({ received: 1, acknowledged: 1 });
    expect((await row(name)).installed_apps.map((a) => a.id)).toContain('org.example.maps');
    expect(subscription.backlog).toBe(0);
  });

  it('applies reports in the order of lastStatusReportTime: an older one arriving later changes nothing', async () => {
    const name = await enroll();
    await settle();
    const newer = reportAt(name, '2030-01-01T10:00:05Z', ['org.example.notes']);
    const older = reportAt(name, '2030-01-01T10:00:00Z', ['com.zhiliaoapp.musically']);
    subscription.enqueue(message('STATUS_REPORT', newer));
    expect(await pull.pullOnce()).toMatchObject({ received: 1 });
    subscription.enqueue(message('STATUS_REPORT', older));
    expect(await pull.pullOnce()).toEqual({ received: 1, acknowledged: 1 });
    let r = await row(name);
    expect(r.installed_apps.map((a) => a.id)).toContain('org.example.notes');
    expect(r.banned_apps).toEqual([]);
    expect(r.compliance).toBe('compliant');
    expect(r.android_report_time?.toISOString()).toBe('2030-01-01T10:00:05.000Z');

    // In one batch, out of order: the newest counts.
    const latest = reportAt(name, '2030-01-01T10:01:00Z', ['org.example.calendar']);
    const between = reportAt(name, '2030-01-01T10:00:30Z', ['com.zhiliaoapp.musically']);
    subscription.enqueue(message('STATUS_REPORT', latest));
    subscription.enqueue(message('STATUS_REPORT', between));
    expect(await pull.pullOnce()).toEqual({ received: 2, acknowledged: 2 });
    r = await row(name);
    expect(r.installed_apps.map((a) => a.id)).toContain('org.example.calendar');
    expect(r.compliance).toBe('compliant');
    expect(r.android_report_time?.toISOString()).toBe('2030-01-01T10:01:00.000Z');
  });

  it('hands back a report naming a policy version still being recorded, instead of losing its convergence', async () => {
    const name = await enroll();
    await settle();
    const current = fake.state.devices.get(name) as Device;
    // The phone applied the next version before the engine recorded its publication (a race of 100 ms).
    const ahead = {
      ...reportAt(name, new Date().toISOString(), ['org.example.ahead']),
      appliedPolicyVersion: String(Number(current.appliedPolicyVersion) + 1),
    };
    subscription.enqueue(message('STATUS_REPORT', ahead));
    expect(await pull.pullOnce()).toEqual({ received: 1, acknowledged: 0 });
    expect(subscription.outstanding).toBe(1);
    expect((await row(name)).installed_apps.map((a) => a.id)).not.toContain('org.example.ahead');
    // By push, Pub/Sub is told to deliver it again (409), not that it was handled.
    const res = await push({ message: message('STATUS_REPORT', ahead) }, google.signToken(PUBSUB_AUDIENCE));
    expect(res.status).toBe(409);
    // Once the publication is recorded, the report delivered again is written.
    const [enterprise, , policy] = (current.appliedPolicyName as string).split('/').slice(1);
    const version = String(Number(current.appliedPolicyVersion) + 1);
    await t.db.query(
      `INSERT INTO android_policy_publication (enterprise_name, policy_name, version, hash) VALUES ($1, $2, $3, 'next-hash')`,
      [`enterprises/${enterprise}`, policy, version],
    );
    try {
      subscription.expireAckDeadlines();
      expect(await pull.pullOnce()).toEqual({ received: 1, acknowledged: 1 });
      const r = await row(name);
      expect(r.installed_apps.map((a) => a.id)).toContain('org.example.ahead');
      expect(r.applied_hash).toBe('next-hash');
      expect(subscription.backlog).toBe(0);
    } finally {
      await t.db.query(`DELETE FROM android_policy_publication WHERE hash = 'next-hash'`);
    }
  });

  it('acknowledges test, ENTERPRISE_UPGRADE, COMMAND, unknown and undecodable notifications without touching any phone', async () => {
    const before = await t.db.query(`SELECT id, installed_apps, android_report_time FROM device ORDER BY id`);
    subscription.enqueue(message('test'));
    subscription.enqueue(
      message('ENTERPRISE_UPGRADE', { enterprise: ENTERPRISE, upgradeState: 'UPGRADE_STATE_SUCCEEDED' }),
    );
    subscription.enqueue(message('COMMAND', { name: `${ENTERPRISE}/devices/x/operations/1`, done: true }));
    subscription.enqueue(message('SOMETHING_NEW', { name: 'anything' }));
    subscription.enqueue(message('STATUS_REPORT', { not: 'a device' }));
    expect(await pull.pullOnce()).toEqual({ received: 5, acknowledged: 5 });
    expect(subscription.backlog).toBe(0);
    expect(await t.db.query(`SELECT id, installed_apps, android_report_time FROM device ORDER BY id`)).toEqual(before);
  });
});

describe('Android status reports pushed by Pub/Sub (small fleets)', () => {
  const token = () => google.signToken(PUBSUB_AUDIENCE);

  it('acknowledges (2xx) every notification type it does not use', async () => {
    for (const m of [
      message('test'),
      message('ENTERPRISE_UPGRADE', { enterprise: ENTERPRISE }),
      message('COMMAND', { name: 'operations/1' }),
      message('SOMETHING_NEW', { name: 'anything' }),
      { data: '', messageId: '1' },
    ]) {
      const res = await push({ message: m, subscription: 'projects/mdm-etat/subscriptions/push' }, token());
      expect(res.status).toBe(204);
    }
  });

  it('applies a pushed report through the same ordered path', async () => {
    const name = await enroll();
    await settle();
    const newer = reportAt(name, '2031-05-01T08:00:10Z', ['org.example.notes']);
    const older = reportAt(name, '2031-05-01T08:00:00Z', ['com.zhiliaoapp.musically']);
    expect((await push({ message: message('STATUS_REPORT', newer) }, token())).status).toBe(204);
    expect((await push({ message: message('STATUS_REPORT', older) }, token())).status).toBe(204);
    expect(await row(name)).toMatchObject({ compliance: 'compliant', banned_apps: [] });
    expect((await row(name)).installed_apps.map((a) => a.id)).toContain('org.example.notes');
    // A report that is not a Device is bad input.
    const bad = await push({ message: message('STATUS_REPORT', { not: 'a device' }) }, token());
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/base64-encoded Android Management API Device/);
  });

  it("still refuses pushes without Google's token, for another audience, or from another service account", async () => {
    const name = await enroll();
    await settle();
    const before = await row(name);
    const forged = {
      message: message('STATUS_REPORT', reportAt(name, '2032-01-01T00:00:00Z', ['com.zhiliaoapp.musically'])),
    };
    expect((await push(forged, undefined)).status).toBe(401);
    expect((await push(forged, google.signToken('https://elsewhere.example/pubsub'))).status).toBe(401);
    const other = await push(forged, intruder.signToken(PUBSUB_AUDIENCE));
    expect(other.status).toBe(401);
    expect(((await other.json()) as { message: string }).message).toMatch(/unexpected service account/);
    expect(await row(name)).toEqual(before);
  });
});

describe('the fake Pub/Sub is as strict as Google', () => {
  async function call(path: string, body: unknown, token: string | null = fake.accessToken) {
    const res = await fetch(`${pubsub.url}v1/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { error?: { status: string; message: string } } };
  }

  it('refuses what Google refuses', async () => {
    expect((await call(`${SUBSCRIPTION}:pull`, { maxMessages: 10 }, null)).body.error?.status).toBe('UNAUTHENTICATED');
    expect((await call(`${SUBSCRIPTION}:pull`, { maxMessages: 10 }, 'another-token')).status).toBe(401);
    expect((await call('projects/mdm-etat/subscriptions/x:pull', { maxMessages: 10 })).body.error?.message).toMatch(
      /Invalid resource name/,
    );
    expect((await call('projects/mdm-etat/subscriptions/nothing:pull', { maxMessages: 10 })).status).toBe(404);
    for (const body of [{}, { maxMessages: 0 }, { maxMessages: -1 }, { maxMessages: 1.5 }, { maxMessages: 10, max: 1 }])
      expect((await call(`${SUBSCRIPTION}:pull`, body)).body.error?.status).toBe('INVALID_ARGUMENT');
    expect((await call(`${SUBSCRIPTION}:acknowledge`, { ackIds: [] })).status).toBe(400);
    expect((await call(`${SUBSCRIPTION}:acknowledge`, { ackIds: ['forged'] })).body.error?.message).toMatch(
      /invalid ack ID/,
    );
    subscription.enqueue(message('test'));
    const pulled = await call(`${SUBSCRIPTION}:pull`, { maxMessages: 1 });
    const ackId = (pulled.body as { receivedMessages: { ackId: string }[] }).receivedMessages[0].ackId;
    expect((await call(`${SUBSCRIPTION}:modifyAckDeadline`, { ackIds: [ackId], ackDeadlineSeconds: 601 })).status).toBe(
      400,
    );
    expect((await call(`${SUBSCRIPTION}:acknowledge`, { ackIds: [ackId] })).status).toBe(200);
    expect(subscription.backlog).toBe(0);
  });
});
