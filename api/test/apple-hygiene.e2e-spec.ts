/**
 * Facts before compliance and command hygiene, through the simulated iPhone against the real
 * service: an old iOS, a missing IsSupervised, a Mac, another server's topic; no duplicate
 * InstallApplication however often a phone is pushed; answered commands pruned; NotNow pushed
 * again with backoff; inventory as a rate.
 */
import plist from 'plist';
import { AppleAdapter } from '../src/apple/apple.adapter';
import { AppleCommandHygieneService } from '../src/apple/apple-command-hygiene.service';
import { DeviceStateService } from '../src/devices/device-state.service';
import { ExemptionSchedulerService } from '../src/exemptions/exemption-scheduler.service';
import { PolicyGroup } from '../src/rollout/policy-group.entity';
import { SimulatedIPhone } from '../../tools/apple-sim/device-simulator';
import type { FakeApns } from '../../tools/apple-sim/fake-apns';
import { createMdmPushCertificate, createTestCa } from '../../tools/apple-sim/pki';
import { drainRolloutJobs } from './support/drain-jobs';
import type { TestApp } from './support/test-app';
import { AppleTestbed, startAppleTestbed } from './support/apple-testbed';

let t: TestApp;
let apns: FakeApns;
let bed: AppleTestbed;
const apple = createTestCa('Apple Sim Root CA');
const push = createMdmPushCertificate(apple);
const phones: SimulatedIPhone[] = [];

async function agentId(sub: string): Promise<string> {
  return (await t.db.query(`SELECT id FROM agent WHERE sub = $1`, [sub]))[0].id;
}

/** A new phone from a fresh enrollment link of the agent (not enrolled yet). */
async function newPhone(
  agentSub: string,
  opts: Partial<Parameters<typeof SimulatedIPhone.fromEnrollmentProfile>[1]> = {},
): Promise<SimulatedIPhone> {
  const link = await (
    await t.as('it.interieur')
  )
    .post('/ministries/interieur/apple/enrollment-links')
    .send({ agentId: await agentId(agentSub), expiresInHours: 24 })
    .expect(201);
  const profile = Buffer.from(await (await fetch(link.body.url)).arrayBuffer());
  return SimulatedIPhone.fromEnrollmentProfile(profile, {
    installedApps: [],
    supervised: true,
    notNowRate: 0,
    ...opts,
  });
}

async function converge(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    await drainRolloutJobs(t);
    await new Promise((r) => setTimeout(r, 150));
    for (const phone of phones) await phone.poll();
  }
}

async function enrolled(phone: SimulatedIPhone): Promise<SimulatedIPhone> {
  phone.connectTo(apns);
  await phone.enroll();
  phones.push(phone);
  await converge();
  return phone;
}

async function deviceIdOf(phone: SimulatedIPhone): Promise<string> {
  const [row] = await t.db.query(`SELECT id FROM device WHERE apple_udid = $1`, [phone.udid]);
  return row.id;
}

async function deviceOf(phone: SimulatedIPhone) {
  return (await (await t.as('it.interieur')).get(`/devices/${await deviceIdOf(phone)}`).expect(200)).body;
}

async function installsOf(phone: SimulatedIPhone, bundle: string): Promise<{ status: string }[]> {
  return t.db.query(
    `SELECT status FROM apple_command WHERE device_id = $1 AND request_type = 'InstallApplication' AND target = $2`,
    [await deviceIdOf(phone), bundle],
  );
}

beforeAll(async () => {
  bed = await startAppleTestbed(apple, push, { commandRetentionDays: 30, inventoryPeriodHours: 24 });
  ({ t, apns } = bed);
});
afterAll(async () => {
  for (const phone of phones) phone.dispose();
  await bed.close();
});

describe('facts before compliance', () => {
  it('shows a supervised iPhone on iOS 14 as non-compliant: too old for blockedAppBundleIDs (iOS 15)', async () => {
    const phone = await enrolled(await newPhone('demo-agent-interieur', { osVersion: '14.8' }));
    const device = await deviceOf(phone);
    expect(device.osVersion).toBe('14.8');
    expect(device.compliance).toBe('non-compliant');
    expect(device.complianceReason).toBe('OS too old to enforce the policy');
    // The same phone on iOS 17 is compliant: the version alone decided.
    const recent = await enrolled(await newPhone('demo-agent-interieur', { osVersion: '17.6.1' }));
    expect((await deviceOf(recent)).compliance).toBe('compliant');
  });

  it('does not read a missing IsSupervised as "not supervised": supervision stays unknown and is asked again', async () => {
    const phone = await newPhone('demo-approver-interieur');
    await phone.enroll(); // not connected to APNs: we answer its commands by hand
    const server = phone.serverUrl;
    const idle = await phone.send(server, { UDID: phone.udid, Status: 'Idle' });
    const first = plist.parse(idle.body.toString()) as { CommandUUID: string; Command: { RequestType: string } };
    expect(first.Command.RequestType).toBe('DeviceInformation');
    // An answer without IsSupervised (the key is left out, as iOS does with queries it will not answer).
    const answer = await phone.send(server, {
      UDID: phone.udid,
      Status: 'Acknowledged',
      CommandUUID: first.CommandUUID,
      QueryResponses: { UDID: phone.udid, OSVersion: '18.1', ProductName: 'iPhone15,2' },
    });
    expect(answer.status).toBe(200);
    const id = await deviceIdOf(phone);
    const [row] = await t.db.query(`SELECT supervised, compliance_reason FROM device WHERE id = $1`, [id]);
    expect(row.supervised).toBeNull();
    expect(row.compliance_reason ?? '').not.toContain('not supervised');
    // Asked again later (postponed, with a push due), not at once in a loop.
    const again = await t.db.query(
      `SELECT status, repush_at > now() AS later FROM apple_command WHERE device_id = $1 AND request_type = 'DeviceInformation' AND status <> 'acknowledged'`,
      [id],
    );
    expect(again).toEqual([{ status: 'not-now', later: true }]);

    // Time passes: the push is due, the phone wakes and answers everything, IsSupervised included.
    await t.db.query(
      `UPDATE apple_command SET repush_at = now(), not_now_until = now() WHERE device_id = $1 AND status = 'not-now'`,
      [id],
    );
    phone.connectTo(apns);
    phones.push(phone);
    const pushes = apns.pushes.length;
    const { repushed } = await t.app.get(AppleCommandHygieneService).tick();
    expect(repushed).toBeGreaterThanOrEqual(1);
    expect(apns.pushes.length).toBeGreaterThan(pushes);
    await new Promise((r) => setTimeout(r, 100));
    await phone.whenIdle();
    await converge();
    const [after] = await t.db.query(`SELECT supervised FROM device WHERE id = $1`, [id]);
    expect(after.supervised).toBe(true);
    expect((await deviceOf(phone)).compliance).toBe('compliant');
  });

  it('refuses a Mac at enrollment with a sentence, without using up the link', async () => {
    const mac = await newPhone('demo-agent-interieur', { model: 'MacBookPro18,3', osVersion: '14.5' });
    const res = await mac.authenticate();
    expect(res.status).toBe(403);
    expect(res.body.toString()).toContain('iPhones and iPads only: a Mac (MacBookPro18,3) cannot be enrolled');
    expect(await t.db.query(`SELECT 1 FROM device WHERE apple_udid = $1`, [mac.udid])).toEqual([]);
    const [identity] = await t.db.query(`SELECT i.udid FROM apple_identity i WHERE i.udid = $1`, [mac.udid]);
    expect(identity).toBeUndefined();
  });

  it('refuses a check-in naming another push topic than this server’s certificate', async () => {
    const phone = await newPhone('demo-agent-interieur', { topic: 'com.apple.mgmt.External.someone-else' });
    const res = await phone.authenticate();
    expect(res.status).toBe(403);
    expect(res.body.toString()).toContain('not this server');
    expect(await t.db.query(`SELECT 1 FROM device WHERE apple_udid = $1`, [phone.udid])).toEqual([]);
  });
});

describe('command hygiene', () => {
  it('never queues a second InstallApplication of Tchap, however often the phone is pushed', async () => {
    // Enrolled, but its pushes go unanswered for now (the phone is off): everything stays pending.
    const phone = await newPhone('demo-presse-interieur');
    await phone.enroll();
    await drainRolloutJobs(t);
    expect(await installsOf(phone, 'fr.gouv.tchap')).toEqual([{ status: 'queued' }]);

    const id = await deviceIdOf(phone);
    const adapter = t.app.get(AppleAdapter);
    const rePush = async () => {
      const [d] = await t.db.query(`SELECT group_id, ministry_code, ownership FROM device WHERE id = $1`, [id]);
      const group = await t.db.getRepository(PolicyGroup).findOneByOrFail({ id: d.group_id });
      for (let i = 0; i < 3; i++)
        await adapter.pushDevice({
          deviceId: id,
          ministry: d.ministry_code,
          ownership: d.ownership,
          groupId: group.id,
          policyName: group.id,
          hash: group.desiredHash,
          effective: group.effective,
        });
    };
    const exemptionCycle = async () => {
      const req = await (
        await t.as('presse.interieur')
      )
        .post('/exemptions')
        .send({ app: 'x', justification: 'Compte X officiel du ministère de l’Intérieur', days: 30 })
        .expect(201);
      await (await t.as('approver.interieur')).post(`/exemptions/${req.body.id}/approve`).send({}).expect(200);
      await drainRolloutJobs(t);
      await t.db.query(`UPDATE exemption SET valid_until = now() - interval '1 second' WHERE id = $1`, [req.body.id]);
      await t.app.get(ExemptionSchedulerService).expireDue();
      await drainRolloutJobs(t);
    };
    await exemptionCycle();
    await rePush();
    await exemptionCycle();
    expect(await installsOf(phone, 'fr.gouv.tchap')).toEqual([{ status: 'queued' }]);

    // The phone comes back: one install, acknowledged; while it installs, pushes queue none.
    phone.connectTo(apns);
    phones.push(phone);
    await converge();
    const installs = phone.commandsReceived.filter((c) => c.RequestType === 'InstallApplication');
    expect(installs).toHaveLength(1);
    expect(phone.installedApps.map((a) => a.bundleId)).toContain('fr.gouv.tchap');

    // Installed and managed (its managed apps' list said so): more exemption changes and pushes, no install.
    await exemptionCycle();
    await rePush();
    await converge();
    expect(await installsOf(phone, 'fr.gouv.tchap')).toEqual([{ status: 'acknowledged' }]);
    expect(phone.commandsReceived.filter((c) => c.RequestType === 'InstallApplication')).toHaveLength(1);
    expect(phone.schemaViolations).toEqual([]);
  });

  it('prunes answered commands after the retention period, never pending ones', async () => {
    const [phone] = phones;
    const id = await deviceIdOf(phone);
    const hygiene = t.app.get(AppleCommandHygieneService);
    const [{ n: answered }] = await t.db.query(
      `SELECT count(*)::int AS n FROM apple_command WHERE device_id = $1 AND status IN ('acknowledged', 'error', 'cancelled')`,
      [id],
    );
    expect(answered).toBeGreaterThan(0);
    // Pruning now removes nothing of this phone: all its answers are recent.
    await hygiene.prune();
    const [{ n: kept }] = await t.db.query(
      `SELECT count(*)::int AS n FROM apple_command WHERE device_id = $1 AND status IN ('acknowledged', 'error', 'cancelled')`,
      [id],
    );
    expect(kept).toBe(answered);
    // 31 days later (retention 30): the answered ones go; a postponed one, as old, stays.
    await t.db.query(
      `INSERT INTO apple_command (device_id, request_type, command, status, not_now_until, created_at)
       VALUES ($1, 'InstalledApplicationList', convert_to('{"RequestType":"InstalledApplicationList"}', 'UTF8'), 'not-now', now(), now() - interval '31 days')`,
      [id],
    );
    await t.db.query(
      `UPDATE apple_command SET answered_at = now() - interval '31 days', created_at = now() - interval '31 days'
        WHERE device_id = $1 AND status IN ('acknowledged', 'error', 'cancelled')`,
      [id],
    );
    expect(await hygiene.prune()).toBeGreaterThanOrEqual(answered);
    const left = await t.db.query(`SELECT status FROM apple_command WHERE device_id = $1`, [id]);
    expect(left).toEqual([{ status: 'not-now' }]);
    await t.db.query(`DELETE FROM apple_command WHERE device_id = $1`, [id]);
  });

  it('pushes a phone that said NotNow again, with a growing delay', async () => {
    let busy = true;
    const phone = await enrolled(
      await newPhone('demo-it-interieur', { notNowRate: 0.5, random: () => (busy ? 0 : 0.99) }),
    );
    const id = await deviceIdOf(phone);
    const hygiene = t.app.get(AppleCommandHygieneService);
    const due = async () =>
      (
        await t.db.query(
          `SELECT min(extract(epoch FROM repush_at - now()))::int AS seconds FROM apple_command WHERE device_id = $1 AND status = 'not-now'`,
          [id],
        )
      )[0].seconds as number;
    // First NotNow: pushed again in about 5 minutes.
    expect(await due()).toBeGreaterThan(200);
    expect(await due()).toBeLessThanOrEqual(300);
    await t.db.query(`UPDATE apple_command SET repush_at = now() WHERE device_id = $1 AND status = 'not-now'`, [id]);
    const before = apns.pushes.length;
    await hygiene.repushPostponed();
    expect(apns.pushes.length).toBe(before + 1);
    await phone.whenIdle();
    // Still busy: the next push waits longer than the first.
    expect(await due()).toBeGreaterThan(300);
    // Free again: the next push delivers everything.
    busy = false;
    await t.db.query(
      `UPDATE apple_command SET repush_at = now(), not_now_until = now() WHERE device_id = $1 AND status = 'not-now'`,
      [id],
    );
    await hygiene.repushPostponed();
    await new Promise((r) => setTimeout(r, 100));
    await phone.whenIdle();
    await converge();
    expect((await deviceOf(phone)).converged).toBe(true);
    const [{ n }] = await t.db.query(
      `SELECT count(*)::int AS n FROM apple_command WHERE device_id = $1 AND status = 'not-now'`,
      [id],
    );
    expect(n).toBe(0);
  });

  it('inventories the fleet as a rate: each minute its share, never twice a phone with an inventory pending', async () => {
    const hygiene = t.app.get(AppleCommandHygieneService);
    // The phones are off (no APNs): what is queued stays queued, to be counted.
    for (const phone of phones) phone.dispose();
    const [{ n: fleet }] = await t.db.query(
      `SELECT count(*)::int AS n FROM device WHERE platform = 'ios' AND unenrolled_at IS NULL AND apns_token IS NOT NULL`,
    );
    // 250,000 iPhones over 24 hours: 174 a minute at least (with headroom for phones that were off).
    expect(await hygiene.inventoryQuota()).toBe(Math.ceil((fleet / 1440) * 1.2));
    await t.db.query(`UPDATE apple_command SET status = 'cancelled' WHERE status IN ('queued', 'sent', 'not-now')`);
    await t.db.query(`UPDATE device SET inventory_at = now() - interval '2 days' WHERE platform = 'ios'`);
    const asked = await hygiene.inventoryShare(2);
    expect(asked).toBe(2);
    // The same minute again: other phones, not those two.
    const next = await hygiene.inventoryShare(fleet);
    expect(next).toBe(fleet - 2);
    expect(await hygiene.inventoryShare(fleet)).toBe(0);
    const [{ n: lists }] = await t.db.query(
      `SELECT count(*)::int AS n FROM apple_command WHERE request_type = 'InstalledApplicationList' AND status = 'queued'`,
    );
    expect(lists).toBe(fleet);
  });
});

describe('a minimum iOS set by the policy', () => {
  it('makes older iPhones non-compliant with the minimum named, and refuses a minimum below iOS 15', async () => {
    const admin = await t.as('it.interieur');
    const current = (await admin.get('/policies/interieur').expect(200)).body.content;
    const refused = await admin
      .post('/policies/interieur/plan')
      .send({ ...current, minimumIos: '14' })
      .expect(400);
    expect(JSON.stringify(refused.body)).toContain('minimumIos');
    const plan = await admin
      .post('/policies/interieur/plan')
      .send({ ...current, minimumIos: '18.0' })
      .expect(201);
    await admin.post(`/policy-plans/${plan.body.id}/apply`).send({}).expect(200);
    await drainRolloutJobs(t);
    const ids: string[] = (
      await t.db.query(`SELECT id FROM device WHERE platform = 'ios' AND ministry_code = 'interieur'`)
    ).map((r: { id: string }) => r.id);
    await t.db.transaction((tx) => t.app.get(DeviceStateService).refreshCompliance(tx, ids));
    const rows: { os_version: string; compliance: string; compliance_reason: string | null }[] = await t.db.query(
      `SELECT os_version, compliance, compliance_reason FROM device WHERE id = ANY($1) AND supervised`,
      [ids],
    );
    const ios17 = rows.find((r) => r.os_version === '17.6.1');
    expect(ios17).toMatchObject({
      compliance: 'non-compliant',
      compliance_reason: "OS older than the policy's minimum (iOS 18.0)",
    });
    // iOS 14 keeps the platform's own reason; an iPhone on 18.1 is not touched by the minimum.
    expect(rows.find((r) => r.os_version === '14.8')?.compliance_reason).toBe('OS too old to enforce the policy');
    for (const r of rows.filter((r) => r.os_version === '18.1'))
      expect(r.compliance_reason ?? '').not.toContain('minimum');
  });
});
