/**
 * Compliance you can trust, through HTTP: one evaluator for Android and iPhone (same reasons for
 * the same facts), unknown never counted as compliant, an approved exemption taking effect at
 * once, stale phones, counters equal to the device table, trends and exports.
 */
import { FakeAmapi, startFakeAmapi } from '../../tools/fake-amapi/fake-amapi';
import { SimulatedIPhone } from '../../tools/apple-sim/device-simulator';
import { FakeApns, startFakeApns } from '../../tools/apple-sim/fake-apns';
import { createMdmPushCertificate, createServerCertificate, createTestCa } from '../../tools/apple-sim/pki';
import { ComplianceService } from '../src/compliance/compliance.service';
import { DeviceStateService } from '../src/devices/device-state.service';
import { PLATFORMS } from '../src/devices/platforms';
import type { EffectivePolicy } from '../src/policies/effective-policy.types';
import { RolloutEngine } from '../src/rollout/rollout-engine.service';
import { SimulatedFleetAdapter } from '../src/rollout/simulated-fleet.adapter';
import { drainRolloutJobs } from './support/drain-jobs';
import { fakeAmapiSettings, PUBSUB_AUDIENCE } from './support/fake-amapi-settings';
import { startTestApp, TestApp } from './support/test-app';
import { freePort } from './support/ports';

const ENTERPRISE = 'enterprises/LC0compliance';
const TIKTOK = 'banned app still installed: TikTok';
const JUSTIFICATION = 'Compte TikTok officiel du ministère : communication de crise et prévention.';

let t: TestApp;
let fake: FakeAmapi;
let apns: FakeApns;
const apple = createTestCa('Apple Sim Root CA (compliance)');
const push = createMdmPushCertificate(apple);
const iphones: SimulatedIPhone[] = [];

async function agentId(sub: string): Promise<string> {
  return ((await t.db.query(`SELECT id FROM agent WHERE sub = $1`, [sub])) as { id: string }[])[0].id;
}

async function device(
  id: string,
): Promise<{ compliance: string; complianceReason: string | null; [k: string]: unknown }> {
  return (await (await t.as('it.interieur')).get(`/devices/${id}`).expect(200)).body;
}

/** Rollout jobs run, fake Android phones apply and report, iPhones are woken and poll. */
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    await drainRolloutJobs(t);
    await fake.idle();
    await new Promise((r) => setTimeout(r, 100));
    for (const phone of iphones) await phone.poll();
  }
}

async function national() {
  return (await (await t.as('admin.national')).get('/compliance/national').expect(200)).body;
}

/** The read model must say what a count of the device table says. */
async function expectCountersMatchTheDeviceTable(): Promise<void> {
  const scan = (await t.db.query(
    `SELECT ministry_code, platform, compliance, count(*)::int AS n, count(*) FILTER (WHERE cardinality(banned_apps) > 0)::int AS banned
       FROM device WHERE unenrolled_at IS NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  )) as unknown[];
  const counters = (await t.db.query(
    `SELECT ministry_code, platform, compliance, sum(n)::int AS n, coalesce(sum(n) FILTER (WHERE carries_banned), 0)::int AS banned
       FROM compliance_count GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  )) as unknown[];
  expect(counters).toEqual(scan);
  const apps = (await t.db.query(
    `SELECT ministry_code, platform, app, count(*)::int AS n FROM device, unnest(banned_apps) app
      WHERE unenrolled_at IS NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  )) as unknown[];
  expect(
    await t.db.query(
      `SELECT ministry_code, platform, app_slug AS app, n::int AS n FROM banned_app_count ORDER BY 1, 2, 3`,
    ),
  ).toEqual(apps);
  const rollout = (await t.db.query(
    `SELECT coalesce(group_id, '') AS g, (bucket / 100)::int AS band, coalesce(applied_hash, '') AS h, count(*)::int AS n
       FROM device WHERE unenrolled_at IS NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  )) as unknown[];
  expect(
    await t.db.query(
      `SELECT group_id AS g, band::int AS band, applied_hash AS h, sum(n)::int AS n FROM rollout_count GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    ),
  ).toEqual(rollout);
}

beforeAll(async () => {
  fake = await startFakeAmapi({
    enterprises: [ENTERPRISE],
    projectId: 'mdm-etat',
    autoApply: true,
    autoApplyDelayMs: 5,
  });
  apns = await startFakeApns({
    ca: apple,
    serverCert: createServerCertificate(apple, ['127.0.0.1', 'localhost']),
    expectedTopic: push.topic,
  });
  const port = await freePort();
  t = await startTestApp({
    listen: true,
    port,
    android: fakeAmapiSettings(fake),
    apple: {
      serverBaseUrl: `http://127.0.0.1:${port}`,
      apnsHost: '127.0.0.1',
      apnsPort: apns.port,
      apnsCaPem: apple.certPem,
      identityFrom: 'signature',
      proxyCertHeader: 'X-Client-Certificate',
    },
  });
  fake.pubsub.pushEndpoint = `${t.url}/android/pubsub`;
  fake.pubsub.audience = PUBSUB_AUDIENCE;
  await (
    await t.as('it.interieur')
  )
    .put('/ministries/interieur/android/enterprise')
    .send({ enterpriseName: ENTERPRISE })
    .expect(200);
  await (
    await t.as('admin.national')
  )
    .put('/apple/push-certificate')
    .send({ certificatePem: push.certPem, privateKeyPem: push.keyPem })
    .expect(200);
});
afterAll(async () => {
  await t.close();
  await fake.stop();
  await apns.close();
});

describe('compliance', () => {
  it('counts the demo phones as unknown until they report, never as compliant; then compliant once they report', async () => {
    const [{ n: enrolled }] = (await t.db.query(
      `SELECT count(*)::int AS n FROM device WHERE unenrolled_at IS NULL`,
    )) as {
      n: number;
    }[];
    expect(enrolled).toBe(134);
    const before = await national();
    expect(before.totals).toMatchObject({ phones: 134, unknown: 134, compliant: 0, nonCompliant: 0, stale: 0 });
    expect(before.totals.compliantPercent).toBe(0);
    for (const m of before.ministries) expect(m.totals.compliant).toBe(0);

    // The demo's simulated phones (DEVICE_SIMULATOR) apply their policy, then send their inventory.
    const engine = t.app.get(RolloutEngine);
    const rows = (await t.db.query(
      `SELECT d.id, d.platform, d.ownership, g.id AS group_id, g.desired_hash, g.effective
         FROM device d JOIN policy_group g ON g.id = d.group_id WHERE d.ministry_code = 'interieur' AND d.unenrolled_at IS NULL`,
    )) as {
      id: string;
      platform: 'android' | 'ios';
      ownership: 'company' | 'personal';
      group_id: string;
      desired_hash: string;
      effective: EffectivePolicy;
    }[];
    for (const platform of PLATFORMS) {
      const sim = new SimulatedFleetAdapter(platform, 1);
      sim.attach(engine);
      for (const r of rows.filter((x) => x.platform === platform))
        await sim.pushDevice({
          deviceId: r.id,
          ministry: 'interieur',
          ownership: r.ownership,
          groupId: r.group_id,
          policyName: r.group_id,
          hash: r.desired_hash,
          effective: r.effective,
        });
    }
    const deadline = Date.now() + 10_000;
    let interieur = (await (await t.as('it.interieur')).get('/compliance/ministries/interieur').expect(200)).body;
    while (interieur.totals.compliant < rows.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      interieur = (await (await t.as('it.interieur')).get('/compliance/ministries/interieur').expect(200)).body;
    }
    expect(interieur.totals).toMatchObject({ phones: rows.length, compliant: rows.length, unknown: 0 });
    expect(interieur.devices).toMatchObject({ total: 0, items: [] });
    const after = await national();
    expect(after.totals).toMatchObject({ phones: 134, compliant: rows.length, unknown: 134 - rows.length });
    await expectCountersMatchTheDeviceTable();
  });

  it('gives an Android phone (status report) and an iPhone (inventory) with TikTok the same reason; an approved exemption makes both compliant at once', async () => {
    const lea = await agentId('demo-presse-interieur');
    // Android: TikTok preinstalled where the policy cannot remove it; the fake phone reports it through Pub/Sub.
    const token = await (
      await t.as('it.interieur')
    )
      .post('/ministries/interieur/android/enrollment-tokens')
      .send({ agentId: lea, durationMinutes: 60, personalUsage: 'allowed' })
      .expect(201);
    const pixel = await fake.enroll({
      enrollmentTokenValue: token.body.value,
      ownership: 'COMPANY_OWNED',
      installedApps: ['com.zhiliaoapp.musically'],
      unremovableApps: ['com.zhiliaoapp.musically'],
    });
    // iPhone: TikTok installed by the agent (not managed: RemoveApplication cannot touch it); the inventory shows it.
    const link = await (
      await t.as('it.interieur')
    )
      .post('/ministries/interieur/apple/enrollment-links')
      .send({ agentId: lea, expiresInHours: 24 })
      .expect(201);
    const iphone = SimulatedIPhone.fromEnrollmentProfile(
      Buffer.from(await (await fetch(link.body.url)).arrayBuffer()),
      {
        installedApps: [{ bundleId: 'com.zhiliaoapp.musically', managed: false, name: 'TikTok' }],
        supervised: true,
      },
    );
    iphone.connectTo(apns);
    await iphone.enroll();
    iphones.push(iphone);
    await settle();
    await fake.applyPolicies({ deviceNames: [pixel.name as string] }); // a fresh status report
    await fake.idle();

    const [android] = (await t.db.query(`SELECT id FROM device WHERE android_device_name = $1`, [pixel.name])) as {
      id: string;
    }[];
    const [ios] = (await t.db.query(`SELECT id FROM device WHERE apple_udid = $1`, [iphone.udid])) as { id: string }[];
    const a = await device(android.id);
    const i = await device(ios.id);
    expect(a).toMatchObject({ compliance: 'non-compliant', complianceReason: TIKTOK, bannedApps: ['tiktok'] });
    expect(i).toMatchObject({ compliance: 'non-compliant', complianceReason: TIKTOK, bannedApps: ['tiktok'] });
    expect(a.complianceReasons).toEqual(i.complianceReasons);
    expect(a.complianceReasons).toEqual([{ code: 'banned-app', app: 'tiktok', text: TIKTOK }]);

    const ranking = (await (await t.as('approver.interieur')).get('/compliance/apps?ministry=interieur').expect(200))
      .body;
    expect(ranking.apps[0]).toMatchObject({ app: 'tiktok', name: 'TikTok', phones: 2, android: 1, ios: 1 });
    const drill = (await (await t.as('it.interieur')).get('/compliance/ministries/interieur').expect(200)).body;
    expect(drill.totals.withBannedApps).toBe(2);
    expect(drill.devices.items.map((d: { id: string }) => d.id)).toEqual(expect.arrayContaining([android.id, ios.id]));
    expect(drill.devices.items.find((d: { id: string }) => d.id === ios.id)).toMatchObject({
      compliance: 'non-compliant',
      complianceReason: TIKTOK,
      agentEmail: expect.stringContaining('@'),
    });

    // The approver grants TikTok to the agent: both phones are compliant when the approval returns.
    const request = await (
      await t.as('presse.interieur')
    )
      .post('/exemptions')
      .send({ app: 'tiktok', justification: JUSTIFICATION, days: 30 })
      .expect(201);
    const started = Date.now();
    await (await t.as('approver.interieur')).post(`/exemptions/${request.body.id}/approve`).send({}).expect(200);
    for (const id of [android.id, ios.id])
      expect(await device(id)).toMatchObject({ compliance: 'compliant', complianceReason: null, bannedApps: [] });
    expect(Date.now() - started).toBeLessThan(5000);
    const after = (await (await t.as('approver.interieur')).get('/compliance/apps?ministry=interieur').expect(200))
      .body;
    expect(after.apps.find((x: { app: string }) => x.app === 'tiktok')).toBeUndefined();
    const register = (await (await t.as('admin.national')).get('/compliance/exemptions').expect(200)).body;
    expect(register.cells).toContainEqual({ ministry: 'interieur', app: 'tiktok', active: 1 });
    expect(register.byMinistry.find((m: { ministry: string }) => m.ministry === 'interieur').active).toBeGreaterThan(0);
    await expectCountersMatchTheDeviceTable();
  });

  it('marks a phone without a report for more than the stale limit stale, and a new report brings it back', async () => {
    const [phone] = (await t.db.query(
      `SELECT id, android_device_name FROM device WHERE android_device_name LIKE $1 AND compliance = 'compliant'`,
      [`${ENTERPRISE}/%`],
    )) as { id: string; android_device_name: string }[];
    await t.db.query(`UPDATE device SET reported_at = now() - interval '8 days' WHERE id = $1`, [phone.id]);
    const refreshed = await t.app.get(DeviceStateService).refresh();
    expect(refreshed.stale).toBe(1);
    expect((await device(phone.id)).compliance).toBe('stale');
    const stale = (await (await t.as('it.interieur')).get('/compliance/ministries/interieur?state=stale').expect(200))
      .body;
    expect(stale.totals.stale).toBe(1);
    expect(stale.devices.items.map((d: { id: string }) => d.id)).toEqual([phone.id]);
    expect((await national()).totals.stale).toBe(1);
    await fake.applyPolicies({ deviceNames: [phone.android_device_name] });
    await fake.idle();
    expect((await device(phone.id)).compliance).toBe('compliant');
    await expectCountersMatchTheDeviceTable();
    await t.app.get(DeviceStateService).foldTallies();
    await expectCountersMatchTheDeviceTable();
  });

  it('takes the daily snapshot and draws the trend per ministry; refuses bad periods with a readable 400', async () => {
    await t.app.get(ComplianceService).snapshot();
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date());
    const trend = (await (await t.as('admin.national')).get('/compliance/trend').expect(200)).body;
    expect(trend.to).toBe(today);
    const all = trend.series[0];
    expect(all).toMatchObject({ ministry: null });
    expect(all.points).toEqual([expect.objectContaining({ day: today, ...(await national()).totals })]);
    expect(trend.series.map((s: { ministry: string | null }) => s.ministry)).toEqual(
      expect.arrayContaining([null, 'interieur', 'armees']),
    );
    const own = (
      await (await t.as('it.interieur')).get(`/compliance/trend?ministry=interieur&from=${today}`).expect(200)
    ).body;
    expect(own.series.map((s: { ministry: string }) => s.ministry)).toEqual(['interieur']);

    const admin = await t.as('admin.national');
    const bad: [string, number, string][] = [
      ['/compliance/trend?from=2026-13-01', 400, 'from must be a date written YYYY-MM-DD'],
      ['/compliance/trend?from=2026-02-30&to=2026-03-01', 400, 'is not a day of the calendar'],
      ['/compliance/trend?from=2026-12-01&to=2026-11-01', 400, 'must not be after'],
      ['/compliance/trend?from=2020-01-01&to=2026-11-01', 400, 'longer than 366 days'],
      ['/compliance/export.csv?dataset=everything', 400, 'dataset must be one of'],
      ['/compliance/ministries/interieur?state=green', 400, 'state must be one of'],
      ['/compliance/ministries/interieur?limit=100000', 400, 'limit'],
      ['/compliance/apps?ministry=Not%20A%20Code', 400, 'ministry must be a ministry code'],
      ['/compliance/ministries/atlantide', 404, 'No ministry with code'],
    ];
    for (const [path, status, message] of bad) {
      const res = await admin.get(path);
      expect({ path, status: res.status, message: JSON.stringify(res.body.message) }).toEqual({
        path,
        status,
        message: expect.stringContaining(message),
      });
    }
  });

  it('exports aggregates for French Excel (BOM, ";", local time) and as JSON, without personal data', async () => {
    const token = await t.token('admin.national');
    const csv = await fetch(`${t.url}/compliance/export.csv?dataset=ministries`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="conformite-ministries-national-/);
    const bytes = Buffer.from(await csv.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = bytes.subarray(3).toString('utf8').trim().split('\r\n');
    expect(lines[0]).toBe(
      'ministère;plateforme;état;téléphones;dont avec une application interdite;généré le (heure de Paris)',
    );
    const paris = new Intl.DateTimeFormat('sv-SE', {
      timeZone: 'Europe/Paris',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
    }).format(new Date());
    expect(lines[1].split(';')[5].slice(0, 13)).toBe(paris);
    const total = lines.slice(1).reduce((n, l) => n + Number(l.split(';')[3]), 0);
    expect(total).toBe((await national()).totals.phones);

    for (const dataset of ['ministries', 'apps', 'os', 'trend', 'exemptions']) {
      const json = (await (await t.as('admin.national')).get(`/compliance/export.json?dataset=${dataset}`).expect(200))
        .body;
      expect(json).toMatchObject({ dataset, ministry: null });
      // Every banned app left is now exempted: the apps dataset may be empty, no other.
      if (dataset !== 'apps') expect(json.rows.length).toBeGreaterThan(0);
      for (const row of json.rows) expect(Object.keys(row).sort()).toEqual([...json.columns].sort());
      // Aggregates only: no email, no person's name, no device.
      expect(JSON.stringify(json)).not.toMatch(/@|demo-|Léa|[0-9a-f]{8}-[0-9a-f]{4}-/);
    }
    const own = (
      await (
        await t.as('approver.interieur')
      )
        .get('/compliance/export.json?dataset=exemptions&ministry=interieur')
        .expect(200)
    ).body;
    expect(own.rows).toContainEqual({ ministry: 'interieur', app: 'tiktok', appName: 'TikTok', active: 1 });
    await (await t.as('approver.interieur')).get('/compliance/export.json?dataset=exemptions').expect(403);
    await (await t.as('it.armees')).get('/compliance/export.csv?dataset=apps&ministry=interieur').expect(403);
  });

  it('shows a ministry its own figures only, and the national figures to national admins only', async () => {
    await (await t.as('it.armees')).get('/compliance/ministries/interieur').expect(403);
    await (await t.as('approver.armees')).get('/compliance/apps?ministry=interieur').expect(403);
    await (await t.as('it.interieur')).get('/compliance/national').expect(403);
    await (await t.as('agent.interieur')).get('/compliance/ministries/interieur').expect(403);
    const own = (await (await t.as('approver.interieur')).get('/compliance/ministries/interieur').expect(200)).body;
    expect(own.ministry).toBe('interieur');
    const all = await national();
    expect(all.ministries.map((m: { ministry: string }) => m.ministry)).toEqual(
      expect.arrayContaining(['interieur', 'armees', 'culture', 'economie', 'spm']),
    );
    expect(all.osVersions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ platform: 'ios', osMajor: '18', tooOld: false }),
        expect.objectContaining({ platform: 'android', osMajor: null, tooOld: false }),
      ]),
    );
  });
});
