import { X509Certificate } from 'node:crypto';
import plist from 'plist';
import { MdmProtocolService } from '../src/apple/mdm-protocol.service';
import { SimulatedIPhone } from '../../tools/apple-sim/device-simulator';
import { parseMobileconfig, payloadsOf } from '../../tools/apple-sim/mobileconfig';
import { createMdmPushCertificate, createTestCa, identityFromPkcs12 } from '../../tools/apple-sim/pki';
import { TestApp } from './support/test-app';
import { AppleTestbed, startAppleTestbed } from './support/apple-testbed';
import { renewalKit } from './support/identity-renewal';

let t: TestApp;
let bed: AppleTestbed;
const apple = createTestCa('Apple Sim Root CA');
const push = createMdmPushCertificate(apple);

const kit = renewalKit(() => bed);
const { converge, renewal, identityOf, expiresIn, auditOf } = kit;

async function enrollIPhone(agentSub: string): Promise<SimulatedIPhone> {
  // The profile as served: signed (DER), or an XML property list; the simulator reads both.
  const profile = await kit.linkProfile(agentSub);
  return kit.enrolled(SimulatedIPhone.fromEnrollmentProfile(profile, { installedApps: [], supervised: true }));
}

async function renewalsOf(serial: string): Promise<{ serial: string; udid: string | null; revoked_at: Date | null }[]> {
  return t.db.query(`SELECT serial, udid, revoked_at FROM apple_identity WHERE renews = $1 ORDER BY issued_at`, [
    serial,
  ]);
}

beforeAll(async () => {
  bed = await startAppleTestbed(apple, push, { identityRenewDays: 60 });
  ({ t } = bed);
});
afterAll(async () => {
  kit.dispose();
  await bed.close();
});

describe('Apple device identities renewed before they lapse', () => {
  it('renews an identity 10 days from expiry in place: same device, commands still flow, the old identity refused', async () => {
    const phone = await enrollIPhone('demo-agent-interieur');
    const far = await enrollIPhone('demo-presse-interieur');
    const before = await identityOf(phone);
    const farBefore = await identityOf(far);
    const oldIdentity = phone.identity;
    await expiresIn(before.serial, 10);
    const it = await t.as('it.interieur');
    const shown = (await it.get(`/devices/${before.device}`).expect(200)).body;
    expect(Date.parse(shown.identityExpiresAt) - Date.now()).toBeLessThan(11 * 86_400_000);
    const complianceBefore = shown.compliance;

    expect(await renewal().tick()).toEqual({ queued: 1, dropped: 0 });
    // Not twice while one is pending; and the phone far from expiry is left alone.
    expect(await renewal().tick()).toEqual({ queued: 0, dropped: 0 });
    expect(await renewalsOf(before.serial)).toHaveLength(1);
    expect(await renewalsOf(farBefore.serial)).toEqual([]);
    const [{ n: installs }] = await t.db.query(
      `SELECT count(*)::int AS n FROM apple_command WHERE device_id = $1 AND request_type = 'InstallProfile' AND policy_hash IS NULL`,
      [before.device],
    );
    expect(installs).toBe(1);
    expect((await auditOf(before.device)).map((e) => e.action)).toContain('apple.identity-renewal-queued');

    // The push wakes the phone: it installs the profile, checks in with its new identity and answers with it.
    await phone.poll();
    const install = phone.commandsReceived.filter((c) => c.RequestType === 'InstallProfile').at(-1);
    expect(install?.status).toBe('Acknowledged');
    expect(phone.identity.certPem).not.toBe(oldIdentity.certPem);
    expect(phone.schemaViolations).toEqual([]);

    const after = await identityOf(phone);
    expect(after.device).toBe(before.device);
    const [renewed] = await renewalsOf(before.serial);
    expect(after.serial).toBe(renewed.serial);
    expect(renewed.udid).toBe(phone.udid);
    const [old] = await t.db.query(`SELECT udid, revoked_at, replaced_at FROM apple_identity WHERE serial = $1`, [
      before.serial,
    ]);
    expect(old.revoked_at).not.toBeNull();
    expect(old.replaced_at).not.toBeNull();
    const view = (await it.get(`/devices/${before.device}`).expect(200)).body;
    expect(Date.parse(view.identityExpiresAt) - Date.now()).toBeGreaterThan(700 * 86_400_000);
    expect(view.compliance).toBe(complianceBefore);
    expect(view.enrolledAt).toBe(shown.enrolledAt);
    // The link still counts one phone, not two.
    const [{ n: counted }] = await t.db.query(
      `SELECT count(*)::int AS n FROM apple_identity WHERE enrollment_id = (SELECT enrollment_id FROM apple_identity WHERE serial = $1) AND enrolled_at IS NOT NULL`,
      [after.serial],
    );
    expect(counted).toBe(1);
    const trail = await auditOf(before.device);
    const done = trail.find((e) => e.action === 'apple.identity-renewed');
    expect(done?.after).toMatchObject({ identity: after.serial });

    // Commands still flow to the same device, signed with the new identity.
    const received = phone.commandsReceived.length;
    await t.app.get(MdmProtocolService).queueInventoryRefresh(0);
    await converge();
    const inventory = phone.commandsReceived.slice(received).map((c) => `${c.RequestType} ${c.status}`);
    expect(inventory).toEqual(
      expect.arrayContaining(['InstalledApplicationList Acknowledged', 'DeviceInformation Acknowledged']),
    );

    // A stolen copy of the old identity can no longer speak for the phone, on either channel.
    const thief = phone.withIdentity(oldIdentity).impersonate(phone.udid);
    const idle = await thief.send(`${t.url}/mdm/server`, { UDID: phone.udid, Status: 'Idle' });
    expect(idle.status).toBe(403);
    expect(idle.body.toString()).toContain('replaced by a renewed one');
    const token = await thief.tokenUpdate();
    expect(token.status).toBe(403);
    expect(token.body.toString()).toContain('replaced by a renewed one');
    // The new identity speaks for its phone only.
    const impostor = phone.impersonate(far.udid);
    const stolen = await impostor.send(`${t.url}/mdm/server`, { UDID: far.udid, Status: 'Idle' });
    expect(stolen.status).toBe(403);
    expect(stolen.body.toString()).toContain('another device');
    // Renewed, it is not due again.
    expect(await renewal().tick()).toEqual({ queued: 0, dropped: 0 });
  });

  it("goes by the certificate's own expiry, which a check-in records (an identity may wait in the pool before its download)", async () => {
    const phone = await enrollIPhone('demo-agent-interieur');
    const { serial } = await identityOf(phone);
    const notAfter = new Date(new X509Certificate(phone.identity.certPem).validTo);
    const stored = async () =>
      (
        (await t.db.query(`SELECT not_after FROM apple_identity WHERE serial = $1`, [serial])) as { not_after: Date }[]
      )[0].not_after;
    expect((await stored()).toISOString()).toBe(notAfter.toISOString());
    // As if estimated at the download of a profile whose identity had been issued months before.
    await expiresIn(serial, 900);
    expect((await phone.tokenUpdate()).status).toBe(200);
    expect((await stored()).toISOString()).toBe(notAfter.toISOString());
  });

  it('a phone that answers its renewal with an Error keeps working with its old identity, and is tried again a day later', async () => {
    const phone = await enrollIPhone('demo-approver-interieur');
    const before = await identityOf(phone);
    await expiresIn(before.serial, 10);
    phone.dispose(); // this test answers for the phone: the push must not make it poll on its own
    expect((await renewal().tick()).queued).toBe(1);

    // The phone fetches the InstallProfile and refuses it (as iOS does when the installation fails).
    const fetched = await phone.send(`${t.url}/mdm/server`, { UDID: phone.udid, Status: 'Idle' });
    expect(fetched.status).toBe(200);
    const command = plist.parse(fetched.body.toString()) as {
      CommandUUID: string;
      Command: { RequestType: string; Payload: Buffer };
    };
    expect(command.Command.RequestType).toBe('InstallProfile');
    // What iOS would find in it: the same enrollment profile, with a new identity.
    const profile = parseMobileconfig(command.Command.Payload).profile;
    const payloads = payloadsOf(profile);
    const mdm = payloads.find((p) => p.PayloadType === 'com.apple.mdm');
    expect(profile.PayloadIdentifier).toBe(phone.enrollment?.profile.PayloadIdentifier);
    expect(mdm).toMatchObject({ Topic: push.topic, ServerURL: phone.serverUrl });
    const p12 = payloads.find((p) => p.PayloadUUID === mdm?.IdentityCertificateUUID);
    const fresh = identityFromPkcs12(p12?.PayloadContent as Buffer, p12?.Password as string);
    // The same phone (its UDID) signing with the identity the profile carries.
    const renewed = phone.withIdentity({ certPem: fresh.certPem, keyPem: fresh.keyPem }).impersonate(phone.udid);
    // The new identity speaks for this phone only, even before it took over.
    const otherUdid = '00008120-00000000DEADBEEF';
    const elsewhere = await renewed.impersonate(otherUdid).send(`${t.url}/mdm/server`, {
      UDID: otherUdid,
      Status: 'Idle',
    });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.toString()).toContain('another device');
    // Its Authenticate (iOS installing the profile) is accepted, and changes nothing yet: the install may still fail.
    expect((await renewed.authenticate()).status).toBe(200);
    expect((await identityOf(phone)).serial).toBe(before.serial);
    const refused = await phone.send(`${t.url}/mdm/server`, {
      UDID: phone.udid,
      CommandUUID: command.CommandUUID,
      Status: 'Error',
      ErrorChain: [
        {
          ErrorCode: 12021,
          ErrorDomain: 'MCMDMErrorDomain',
          LocalizedDescription: 'The MDM server for your organization returned an unexpected status (500).',
          USEnglishDescription: 'The MDM server for your organization returned an unexpected status (500).',
        },
      ],
    });
    expect(refused.status).toBe(200);

    const [withdrawn] = await renewalsOf(before.serial);
    expect(withdrawn.revoked_at).not.toBeNull();
    expect(withdrawn.udid).toBeNull();
    const late = await renewed.send(`${t.url}/mdm/server`, { UDID: phone.udid, Status: 'Idle' });
    expect(late.status).toBe(403);
    expect(late.body.toString()).toContain('revoked');
    // The old identity still works, the device is the same, no policy error is invented.
    const poll = await phone.poll();
    expect(poll.httpStatus).toBe(200);
    expect((await identityOf(phone)).serial).toBe(before.serial);
    const view = (await (await t.as('it.interieur')).get(`/devices/${before.device}`).expect(200)).body;
    expect(view.policyErrors).toEqual([]);
    const trail = await auditOf(before.device);
    const refusal = trail.find((e) => e.action === 'apple.identity-renewal-refused');
    expect(String(refusal?.after.reason)).toContain('unexpected status (500)');

    // Not again within the day; after it, once more.
    expect((await renewal().tick()).queued).toBe(0);
    await t.db.query(`UPDATE apple_identity SET revoked_at = now() - interval '25 hours' WHERE serial = $1`, [
      withdrawn.serial,
    ]);
    expect((await renewal().tick()).queued).toBe(1);
    await phone.poll();
    const renewals = await renewalsOf(before.serial);
    expect(renewals).toHaveLength(2);
    expect(renewals[1].udid).toBe(phone.udid);
    expect((await identityOf(phone)).serial).toBe(renewals[1].serial);
  });

  it('a renewal cancelled by a newer policy before the phone got it is dropped, and the phone renewed at a later run', async () => {
    const phone = await enrollIPhone('demo-it-interieur');
    const before = await identityOf(phone);
    await expiresIn(before.serial, 10);
    phone.dispose(); // switched off: it hears no push
    expect((await renewal().tick()).queued).toBe(1);
    await t.db.query(
      `UPDATE apple_command SET status = 'cancelled' WHERE device_id = $1 AND request_type = 'InstallProfile' AND status = 'queued'`,
      [before.device],
    );
    expect(await renewal().tick()).toEqual({ queued: 1, dropped: 1 });
    const renewals = await renewalsOf(before.serial);
    expect(renewals).toHaveLength(1);
    await phone.poll();
    expect((await identityOf(phone)).serial).toBe(renewals[0].serial);
  });
});
