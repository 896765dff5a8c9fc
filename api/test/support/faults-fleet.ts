import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import plist from 'plist';
import { DataSource } from 'typeorm';
import { FakeAmapi, FaultKind as AmapiFaultKind, startFakeAmapi } from '../../../tools/fake-amapi/fake-amapi';
import { SimulatedIPhone } from '../../../tools/apple-sim/device-simulator';
import { FakeApns, FaultKind as ApnsFaultKind, startFakeApns } from '../../../tools/apple-sim/fake-apns';
import { createMdmPushCertificate, createServerCertificate, createTestCa } from '../../../tools/apple-sim/pki';
import { AndroidSettings } from '../../src/android/android-settings';
import { AppleSettings } from '../../src/apple/apple-settings';
import { POLICY_PROFILE_IDENTIFIER, uuidFrom } from '../../src/apple/apple-payloads';
import type { EffectivePolicy } from '../../src/policies/effective-policy.resolver';
import { TestApp } from './test-app';
import { fakeAmapiSettings, PUBSUB_AUDIENCE } from './fake-amapi-settings';

/**
 * A fleet of simulated phones on the fake Google and Apple services, with faults that can be
 * switched on and off, and the checks the fault tests make once the faults stop: every device on
 * its desired policy (as the fakes hold it), none lost, no delivery twice beyond the retries.
 */

export const REPO_ROOT = resolve(__dirname, '../../..');
export const MINISTRIES = ['interieur', 'culture'];
export const AMAPI_FAULTS: AmapiFaultKind[] = ['429', '500', '503', 'timeout', 'drop', 'drop-after'];
export const APNS_FAULTS: ApnsFaultKind[] = ['429', '500', '503', 'timeout', 'drop'];

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Fakes {
  amapi: FakeAmapi;
  apns: FakeApns;
  apple: ReturnType<typeof createTestCa>;
  push: ReturnType<typeof createMdmPushCertificate>;
  /** The fake APNs' CA in a file, for a worker process (APNS_CA_FILE). */
  caFile: string;
  close(): Promise<void>;
}

export async function startFakes(): Promise<Fakes> {
  const apple = createTestCa('Apple Sim Root CA');
  const push = createMdmPushCertificate(apple);
  // Pub/Sub retries for days; here long enough to outlive a database restart.
  const amapi = await startFakeAmapi({
    enterprises: MINISTRIES.map((m) => `enterprises/LC0${m}`),
    projectId: 'mdm-etat',
    autoApply: true,
    autoApplyDelayMs: 20,
    pubsub: { maxAttempts: 200, retryDelayMs: 200 },
  });
  const apns = await startFakeApns({
    ca: apple,
    serverCert: createServerCertificate(apple, ['127.0.0.1', 'localhost']),
    expectedTopic: push.topic,
  });
  const caFile = join(mkdtempSync(join(tmpdir(), 'mdm-faults-')), 'apns-ca.pem');
  writeFileSync(caFile, apple.certPem);
  return {
    amapi,
    apns,
    apple,
    push,
    caFile,
    close: async () => {
      await amapi.stop();
      await apns.close();
    },
  };
}

export function androidSettings(f: Fakes): AndroidSettings {
  return fakeAmapiSettings(f.amapi);
}

export function appleSettings(f: Fakes, port: number): AppleSettings {
  return {
    serverBaseUrl: `http://127.0.0.1:${port}`,
    apnsHost: '127.0.0.1',
    apnsPort: f.apns.port,
    apnsCaPem: f.apple.certPem,
    apnsTimeoutMs: 1500,
    identityFrom: 'signature',
    proxyCertHeader: 'X-Client-Certificate',
  };
}

/** 20 % of the requests to either fake fail, in every way they know. */
export function faultsOn(f: Fakes, rate = 0.2): void {
  // Each kind at least once, whatever the dice say; then at random.
  for (const kind of AMAPI_FAULTS) f.amapi.failNext(1, kind);
  f.apns.failNext(1, 429);
  f.apns.failNext(1, 503);
  f.amapi.faults = { rate, kinds: AMAPI_FAULTS, retryAfterSeconds: 1, latencyMs: 20 };
  f.apns.faults = { rate, kinds: APNS_FAULTS, retryAfterSeconds: 1 };
  f.apns.latencyMs = 20;
}

export function faultsOff(f: Fakes): void {
  f.amapi.faults = { rate: 0, kinds: AMAPI_FAULTS };
  f.apns.faults = { rate: 0, kinds: APNS_FAULTS };
  f.apns.latencyMs = 0;
}

export interface Fleet {
  android: string[];
  phones: SimulatedIPhone[];
}

async function agentId(t: TestApp, sub: string): Promise<string> {
  return (await t.db.query(`SELECT id FROM agent WHERE sub = $1`, [sub]))[0].id;
}

/**
 * Binds the ministries to their enterprise, uploads the push certificate, takes the template's demo
 * devices out of the way, and enrolls `android` phones and `ios` iPhones through the API, spread
 * over the ministries' agents (the press officer of the Interior holds one of each).
 */
export async function enrollFleet(t: TestApp, f: Fakes, counts: { android: number; ios: number }): Promise<Fleet> {
  f.amapi.pubsub.pushEndpoint = `${t.url}/android/pubsub`;
  f.amapi.pubsub.audience = PUBSUB_AUDIENCE;
  await (
    await t.as('admin.national')
  )
    .put('/apple/push-certificate')
    .send({ certificatePem: f.push.certPem, privateKeyPem: f.push.keyPem })
    .expect(200);
  for (const m of MINISTRIES)
    await (
      await t.as(`it.${m}`)
    )
      .put(`/ministries/${m}/android/enterprise`)
      .send({ enterpriseName: `enterprises/LC0${m}` })
      .expect(200);
  await t.db.query(`UPDATE device SET unenrolled_at = now() WHERE unenrolled_at IS NULL`);
  const owners = [
    'demo-presse-interieur',
    'demo-agent-interieur',
    'demo-it-interieur',
    'demo-agent-culture',
    'demo-approver-culture',
  ];
  const ministryOf = (sub: string) => sub.split('-').pop() as string;

  const android: string[] = [];
  const tokens = new Map<string, string>();
  for (let i = 0; i < counts.android; i++) {
    const owner = owners[i % owners.length];
    const ministry = ministryOf(owner);
    if (!tokens.has(owner)) {
      const token = await (
        await t.as(`it.${ministry}`)
      )
        .post(`/ministries/${ministry}/android/enrollment-tokens`)
        .send({ agentId: await agentId(t, owner), durationMinutes: 60, personalUsage: 'allowed' })
        .expect(201);
      tokens.set(owner, token.body.value);
    }
    const device = await f.amapi.enroll({
      enrollmentTokenValue: tokens.get(owner) as string,
      ownership: i % 3 === 2 ? 'PERSONALLY_OWNED' : 'COMPANY_OWNED',
      installedApps: ['com.zhiliaoapp.musically'],
    });
    android.push(device.name as string);
  }
  const phones: SimulatedIPhone[] = [];
  for (let i = 0; i < counts.ios; i++) {
    const owner = owners[i % owners.length];
    const ministry = ministryOf(owner);
    const link = await (
      await t.as(`it.${ministry}`)
    )
      .post(`/ministries/${ministry}/apple/enrollment-links`)
      .send({ agentId: await agentId(t, owner), expiresInHours: 24 })
      .expect(201);
    const profile = Buffer.from(await (await fetch(link.body.url)).arrayBuffer());
    const phone = SimulatedIPhone.fromEnrollmentProfile(profile, {
      installedApps: [],
      supervised: true,
      retryFailedPollMs: 500,
    });
    phone.connectTo(f.apns);
    await phone.enroll();
    phones.push(phone);
  }
  await f.amapi.idle();
  return { android, phones };
}

interface DeviceRow {
  id: string;
  platform: 'android' | 'ios';
  android_device_name: string | null;
  apple_udid: string | null;
  ministry_code: string;
  group_id: string | null;
  applied_hash: string | null;
  desired_hash: string | null;
  effective: EffectivePolicy | null;
  push_state: string;
  push_error: string | null;
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * One line per device that is not where it should be: the database's desired policy compared with
 * what the fake Google holds for the phone (the policy it applied, its version and its blocked
 * apps) or what the simulated iPhone has installed (the policy profile and its blocked bundles).
 */
export async function unconverged(db: DataSource, f: Fakes, fleet: Fleet): Promise<string[]> {
  const rows = (await db.query(
    `SELECT d.id, d.platform, d.android_device_name, d.apple_udid, d.ministry_code, d.group_id, d.applied_hash, g.desired_hash, g.effective, d.push_state, d.push_error
       FROM device d LEFT JOIN policy_group g ON g.id = d.group_id WHERE d.unenrolled_at IS NULL`,
  )) as DeviceRow[];
  const problems: string[] = [];
  const byName = new Map(rows.map((r) => [r.android_device_name ?? r.apple_udid ?? r.id, r]));
  for (const name of fleet.android)
    if (!byName.has(name)) problems.push(`android ${name}: lost (not an enrolled device in the database)`);
  for (const phone of fleet.phones)
    if (!byName.has(phone.udid)) problems.push(`iPhone ${phone.udid}: lost (not an enrolled device in the database)`);
  const phones = new Map(fleet.phones.map((p) => [p.udid, p]));
  for (const row of rows) {
    const label = `${row.platform} ${row.android_device_name ?? row.apple_udid} (${row.group_id})`;
    if (!row.effective || !row.desired_hash) {
      problems.push(`${label}: no group`);
      continue;
    }
    const state = `push ${row.push_state}${row.push_error ? `: ${row.push_error}` : ''}`;
    if (row.applied_hash !== row.desired_hash)
      problems.push(
        `${label}: database says applied ${row.applied_hash?.slice(0, 12)}, desired ${row.desired_hash.slice(0, 12)} (${state})`,
      );
    const blocked = (platform: 'android' | 'ios') =>
      sorted(row.effective?.apps.filter((a) => a.action === 'block').flatMap((a) => a[platform]) ?? []);
    if (row.platform === 'android') {
      const device = f.amapi.state.devices.get(row.android_device_name ?? '');
      const policyName = `enterprises/LC0${row.ministry_code}/policies/${row.group_id}`;
      const policy = f.amapi.state.policies.get(policyName);
      if (!device) problems.push(`${label}: unknown to Google`);
      else if (device.appliedPolicyName !== policyName || !policy || device.appliedPolicyVersion !== policy.version) {
        problems.push(
          `${label}: Google says it applied ${device.appliedPolicyName} v${device.appliedPolicyVersion}, expected ${policyName} v${policy?.version}`,
        );
      } else {
        const actual = sorted(
          (policy.applications ?? []).filter((a) => a.installType === 'BLOCKED').map((a) => a.packageName ?? ''),
        );
        if (!same(actual, blocked('android')))
          problems.push(
            `${label}: Google's policy blocks [${actual.join(', ')}], expected [${blocked('android').join(', ')}]`,
          );
      }
    } else {
      const phone = phones.get(row.apple_udid ?? '');
      if (!phone) continue; // not one of this fleet's phones
      const profile = phone.profiles.find((p) => p.identifier === POLICY_PROFILE_IDENTIFIER);
      const expected = uuidFrom(`profile:${row.effective.hash}`);
      if (profile?.uuid !== expected)
        problems.push(`${label}: the iPhone has policy profile ${profile?.uuid ?? 'none'}, expected ${expected}`);
      else if (!same(sorted(phone.blockedBundleIds), blocked('ios')))
        problems.push(
          `${label}: the iPhone blocks [${phone.blockedBundleIds.join(', ')}], expected [${blocked('ios').join(', ')}]`,
        );
    }
  }
  return problems;
}

/** Polls until every device converged; past the deadline, fails with the list of those that did not. */
export async function waitForConvergence(db: DataSource, f: Fakes, fleet: Fleet, deadlineMs = 240_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  let problems: string[] = [];
  while (Date.now() < until) {
    try {
      problems = await unconverged(db, f, fleet);
    } catch (e) {
      problems = [`the database is not answering: ${(e as Error).message}`];
    }
    if (problems.length === 0) return;
    await sleep(500);
  }
  throw new Error(
    `${problems.length} device(s) did not converge within ${deadlineMs / 1000} s:\n${problems.join('\n')}`,
  );
}

export interface Mark {
  amapiRequests: number;
  commands: Map<string, number>;
  at: Date;
}

/** Where the logs stand now: deliveries are counted from here. */
export function mark(f: Fakes, fleet: Fleet): Mark {
  return {
    amapiRequests: f.amapi.requests.length,
    commands: new Map(fleet.phones.map((p) => [p.udid, p.commandLog.length])),
    at: new Date(),
  };
}

export interface Deliveries {
  /** Policy contents and policy attachments Google accepted (policies.patch, devices.patch). */
  androidAccepted: number;
  /** Accepted again after having been accepted once: same policy with the same content, same device to the same policy. */
  androidDuplicates: number;
  /** Requests Google carried out but whose answer was lost (the client had to try again). */
  androidLostAnswers: number;
  /** Policy profiles the iPhones installed. */
  iosInstalled: number;
  /** The same policy profile installed again by the same iPhone through a new command. */
  iosDuplicates: number;
  /** The same command handed out again because the device's answer never reached the server. */
  iosRedelivered: number;
  /** Rollout jobs run again (after a crash, a database outage or an error), and devices re-pushed because they had not applied. */
  jobRetries: number;
  forcedRepushes: number;
  apnsAccepted: number;
  apnsFaults: number;
  amapiFaults: number;
}

/**
 * Counts what reached the devices since `from`. A duplicate is a delivery of something already
 * delivered: only a retry can explain one (a job run again after a crash or an outage re-sends
 * at most the one delivery it was making; a forced re-push re-sends one device's policy; a lost
 * answer makes the client send again what was done).
 */
export async function deliveries(db: DataSource, f: Fakes, fleet: Fleet, from: Mark): Promise<Deliveries> {
  const accepted = new Map<string, number>();
  let lost = 0;
  let amapiFaults = 0;
  for (const r of f.amapi.requests.slice(from.amapiRequests)) {
    if (r.fault && r.fault !== 'drop-after') amapiFaults++;
    if (r.method !== 'PATCH' || r.status !== 200) continue;
    if (r.fault === 'drop-after') lost++;
    const body = (r.body ?? {}) as Record<string, unknown>;
    const key = r.path.includes('/devices/')
      ? `${r.path} → ${String(body.policyName)}`
      : `${r.path} = ${JSON.stringify(body)}`;
    accepted.set(key, (accepted.get(key) ?? 0) + 1);
  }
  const installed = new Map<string, number>();
  const handedOut = new Map<string, number>();
  for (const phone of fleet.phones) {
    for (const c of phone.commandLog.slice(from.commands.get(phone.udid) ?? 0)) {
      handedOut.set(c.CommandUUID, (handedOut.get(c.CommandUUID) ?? 0) + 1);
      if (c.RequestType !== 'InstallProfile' || c.status !== 'Acknowledged') continue;
      const payload = c.command.Payload;
      const profile = plist.parse(Buffer.isBuffer(payload) ? payload.toString('utf8') : '') as { PayloadUUID?: string };
      const key = `${phone.udid}:${profile.PayloadUUID}`;
      installed.set(key, (installed.get(key) ?? 0) + 1);
    }
  }
  // A command answered twice (ack lost) is one installation delivered twice by the same command, not a new push.
  const commandsTwice = [...handedOut.values()].reduce((n, c) => n + c - 1, 0);
  const [jobs] = (await db.query(
    `SELECT coalesce(sum(retry_count), 0)::int AS retries,
            coalesce(sum(jsonb_array_length(data->'deviceIds')) FILTER (WHERE data->>'force' = 'true'), 0)::int AS forced
       FROM pgboss.job WHERE name IN ('rollout.start', 'rollout.push') AND created_on >= $1`,
    [from.at],
  )) as { retries: number; forced: number }[];
  const excess = (m: Map<string, number>) => [...m.values()].reduce((n, c) => n + c - 1, 0);
  return {
    androidAccepted: [...accepted.values()].reduce((a, b) => a + b, 0),
    androidDuplicates: excess(accepted),
    androidLostAnswers: lost,
    iosInstalled: [...installed.values()].reduce((a, b) => a + b, 0),
    iosDuplicates: Math.max(0, excess(installed) - commandsTwice),
    iosRedelivered: commandsTwice,
    jobRetries: jobs.retries,
    forcedRepushes: jobs.forced,
    apnsAccepted: f.apns.pushes.filter((p) => p.at >= from.at).length,
    apnsFaults: f.apns.requests.filter(
      (r) => (r.fault !== undefined || r.status === 429 || r.status >= 500) && r.at >= from.at,
    ).length,
    amapiFaults,
  };
}

/** The baseline change and the exemption decision the fault tests make while faults run. */
export async function changeBaselineAndDecideExemption(t: TestApp, app: string): Promise<void> {
  const admin = await t.as('admin.national');
  const national = (await admin.get('/policies/national').expect(200)).body.content;
  const plan = await admin
    .post('/policies/national/plan')
    .send({
      ...national,
      rules: [...national.rules, { app, action: 'block', exemptable: false, legalBasis: 'Test de pannes' }],
    })
    .expect(201);
  await admin.post(`/policy-plans/${plan.body.id}/apply`).send({}).expect(200);
  const req = await (
    await t.as('presse.interieur')
  )
    .post('/exemptions')
    .send({ app: 'x', justification: 'Compte X officiel du ministère de l’Intérieur', days: 30 })
    .expect(201);
  await (await t.as('approver.interieur')).post(`/exemptions/${req.body.id}/approve`).send({}).expect(200);
}

export interface WorkerProcess {
  child: ChildProcess;
  output: string[];
  /** SIGKILL: no shutdown hook runs, the jobs it held stay claimed until their heartbeat lapses. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** `npm run worker` as its own process, on the test's database and fakes. */
export async function startWorkerProcess(
  t: Pick<TestApp, 'databaseUrl' | 'issuer' | 'url'>,
  f: Fakes,
): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', join(REPO_ROOT, 'api/src/worker/worker-main.ts')],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: t.databaseUrl,
        DB_POOL_SIZE: '6',
        LOG_LEVEL: 'info',
        OIDC_ISSUER: t.issuer,
        DEVICE_SIMULATOR: 'false',
        AMAPI_ROOT_URL: f.amapi.url,
        AMAPI_ACCESS_TOKEN: f.amapi.accessToken,
        AMAPI_QUOTA_PER_100S: '100000',
        AMAPI_TIMEOUT_MS: '1500',
        PUBSUB_JWKS_URL: f.amapi.pubsubJwksUrl,
        PUBSUB_AUDIENCE: PUBSUB_AUDIENCE,
        PUBSUB_SERVICE_ACCOUNT: f.amapi.pubsubServiceAccountEmail,
        APPLE_MDM: 'true',
        MDM_SERVER_URL: t.url,
        APNS_HOST: '127.0.0.1',
        APNS_PORT: String(f.apns.port),
        APNS_CA_FILE: f.caFile,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((ok, fail) => {
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.join('').includes('worker started')) ok();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      fail(new Error(`the worker exited (${code}) before starting:\n${output.join('').slice(-3000)}`)),
    );
  });
  return {
    child,
    output,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Active rollout jobs: a worker is in the middle of a rollout. */
export async function activeRolloutJobs(db: DataSource): Promise<number> {
  const [{ n }] = (await db.query(
    `SELECT count(*)::int AS n FROM pgboss.job WHERE name IN ('rollout.start', 'rollout.push') AND state = 'active'`,
  )) as { n: number }[];
  return n;
}

/** Waits (bounded) for `check`; false if it never held. */
export async function eventually(check: () => Promise<boolean>, deadlineMs: number, everyMs = 50): Promise<boolean> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return false;
}

export interface PostgresProcess {
  url: string;
  /** Stops PostgreSQL (fast shutdown: every connection is cut) and waits for it. */
  stop(): Promise<void>;
}

/** The embedded PostgreSQL on `dir`/`port` in a process of its own; the same dir and port again is a restart. */
export async function startPostgresProcess(dir: string, port: number): Promise<PostgresProcess> {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', join(REPO_ROOT, 'api/test/support/postgres-process.ts'), dir, String(port)],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let output = '';
  const url = await new Promise<string>((ok, fail) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /POSTGRES_READY (\S+)/.exec(output);
      if (m) ok(m[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => fail(new Error(`PostgreSQL did not start (${code}):\n${output.slice(-3000)}`)));
  });
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export { prepareDatabase } from './prepare-database';
