/**
 * Identity renewal with APPLE_IDENTITY_DELIVERY=scep: a phone enrolled through SCEP (its key never
 * left it) is renewed by an enrollment profile carrying a SCEP payload with a one-time challenge
 * bound to the identity it renews, never a PKCS#12 made by the server. The simulated iPhone runs the
 * SCEP exchange while installing the profile (tools/apple-sim/scep-client.ts).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import plist from 'plist';
import { SimulatedIPhone } from '../../tools/apple-sim/device-simulator';
import { parseMobileconfig, payloadsOf, PlistDict } from '../../tools/apple-sim/mobileconfig';
import { createMdmPushCertificate, createTestCa } from '../../tools/apple-sim/pki';
import {
  installEnrollmentProfile,
  ScepClientError,
  scepEnroll,
  scepIdentityOf,
  scepPayloadOf,
} from '../../tools/apple-sim/scep-client';
import { TestApp } from './support/test-app';
import { AppleTestbed, startAppleTestbed } from './support/apple-testbed';
import { renewalKit } from './support/identity-renewal';

let t: TestApp;
let bed: AppleTestbed;
const apple = createTestCa('Apple Sim Root CA');
const push = createMdmPushCertificate(apple);

const kit = renewalKit(() => bed);
const { renewal, identityOf, expiresIn, auditOf } = kit;

/** A phone enrolled through SCEP: its key made on the phone, its certificate traded for the profile's challenge. */
async function enrollIPhone(agentSub: string): Promise<SimulatedIPhone> {
  const profile = await kit.linkProfile(agentSub);
  const phone = await installEnrollmentProfile(profile, { installedApps: [], supervised: true, notNowRate: 0 });
  expect(scepIdentityOf(phone)).toBeDefined();
  return kit.enrolled(phone);
}

async function renewalsOf(
  serial: string,
): Promise<{ serial: string; udid: string | null; revoked_at: Date | null; renewal_command: string }[]> {
  return t.db.query(
    `SELECT serial, udid, revoked_at, renewal_command FROM apple_identity WHERE renews = $1 ORDER BY issued_at`,
    [serial],
  );
}

async function challengesOf(serial: string): Promise<
  {
    used_at: Date | null;
    revoked_at: Date | null;
    serial: string | null;
    renewal_command: string | null;
    expires_at: Date;
  }[]
> {
  return t.db.query(
    `SELECT used_at, revoked_at, serial, renewal_command, expires_at FROM apple_scep_challenge WHERE renews = $1 ORDER BY issued_at`,
    [serial],
  );
}

/** The enrollment profile an InstallProfile carries, as stored in the queue. */
async function queuedProfile(command: string): Promise<PlistDict> {
  const [row] = await t.db.query(`SELECT command FROM apple_command WHERE uuid = $1`, [command]);
  const stored = JSON.parse(Buffer.from(row.command).toString()) as { Payload: { $data: string } };
  return parseMobileconfig(Buffer.from(stored.Payload.$data, 'base64')).profile;
}

/** The renewal's InstallProfile as the phone fetches it, without acting on it. */
async function fetchInstall(phone: SimulatedIPhone): Promise<{ uuid: string; payloads: PlistDict[] }> {
  const fetched = await phone.send(`${t.url}/mdm/server`, { UDID: phone.udid, Status: 'Idle' });
  expect(fetched.status).toBe(200);
  const command = plist.parse(fetched.body.toString()) as {
    CommandUUID: string;
    Command: { RequestType: string; Payload: Buffer };
  };
  expect(command.Command.RequestType).toBe('InstallProfile');
  return { uuid: command.CommandUUID, payloads: payloadsOf(parseMobileconfig(command.Command.Payload).profile) };
}

function scepPayloadIn(payloads: PlistDict[]): PlistDict {
  const mdm = payloads.find((p) => p.PayloadType === 'com.apple.mdm');
  const identity = payloads.find((p) => p.PayloadUUID === mdm?.IdentityCertificateUUID);
  expect(identity?.PayloadType).toBe('com.apple.security.scep');
  return identity as PlistDict;
}

async function answerError(phone: SimulatedIPhone, uuid: string): Promise<void> {
  const refused = await phone.send(`${t.url}/mdm/server`, {
    UDID: phone.udid,
    CommandUUID: uuid,
    Status: 'Error',
    ErrorChain: [
      {
        ErrorCode: 22013,
        ErrorDomain: 'MCSCEPErrorDomain',
        LocalizedDescription: 'The SCEP server returned an invalid response.',
        USEnglishDescription: 'The SCEP server returned an invalid response.',
      },
    ],
  });
  expect(refused.status).toBe(200);
}

beforeAll(async () => {
  bed = await startAppleTestbed(apple, push, { identityDelivery: 'scep', identityRenewDays: 60 });
  ({ t } = bed);
});
afterAll(async () => {
  kit.dispose();
  await bed.close();
});

describe('Apple device identities enrolled through SCEP, renewed through SCEP', () => {
  it('renews a SCEP identity with a key the phone makes: no PKCS#12, same device, the old identity refused', async () => {
    const phone = await enrollIPhone('demo-agent-interieur');
    const before = await identityOf(phone);
    const oldIdentity = phone.identity;
    await expiresIn(before.serial, 10);
    phone.dispose(); // it polls when the test says, so that the pending challenge is seen untraded

    expect(await renewal().tick()).toEqual({ queued: 1, dropped: 0 });
    // The challenge, not yet traded, is the pending renewal: no second one.
    expect(await renewal().tick()).toEqual({ queued: 0, dropped: 0 });
    const [challenge] = await challengesOf(before.serial);
    expect(challenge).toMatchObject({ used_at: null, revoked_at: null, serial: null });
    expect(await renewalsOf(before.serial)).toEqual([]);
    const [{ n: installs }] = await t.db.query(
      `SELECT count(*)::int AS n FROM apple_command WHERE device_id = $1 AND request_type = 'InstallProfile' AND policy_hash IS NULL`,
      [before.device],
    );
    expect(installs).toBe(1);
    // The profile carries a SCEP payload with the challenge, and no key.
    const profile = await queuedProfile(challenge.renewal_command as string);
    const payloads = payloadsOf(profile);
    expect(payloads.map((p) => p.PayloadType).sort()).toEqual(['com.apple.mdm', 'com.apple.security.scep']);
    expect(JSON.stringify(profile)).not.toContain('pkcs12');
    expect(profile.PayloadIdentifier).toBe(phone.enrollment?.profile.PayloadIdentifier);
    expect(scepPayloadIn(payloads).PayloadContent).toMatchObject({ URL: `${t.url}/apple/scep`, Keysize: 2048 });
    const queuedAudit = (await auditOf(before.device)).find((e) => e.action === 'apple.identity-renewal-queued');
    expect(queuedAudit?.after).toMatchObject({ delivery: 'scep', command: challenge.renewal_command });

    // Woken, the phone makes its key, trades the challenge, installs the profile, speaks with it.
    await phone.poll();
    const install = phone.commandsReceived.filter((c) => c.RequestType === 'InstallProfile').at(-1);
    expect(install?.status).toBe('Acknowledged');
    expect(phone.schemaViolations).toEqual([]);
    const exchange = scepIdentityOf(phone);
    expect(exchange?.certPem).toBe(phone.identity.certPem);
    expect(phone.identity.certPem).not.toBe(oldIdentity.certPem);
    const cert = new X509Certificate(phone.identity.certPem);
    expect(cert.checkPrivateKey(createPrivateKey(phone.identity.keyPem))).toBe(true);

    const after = await identityOf(phone);
    expect(after.device).toBe(before.device);
    expect(after.serial).toBe(cert.serialNumber.toLowerCase());
    const [renewed] = await renewalsOf(before.serial);
    expect(renewed).toMatchObject({
      serial: after.serial,
      udid: phone.udid,
      renewal_command: challenge.renewal_command,
    });
    const [{ not_after: notAfter }] = await t.db.query(`SELECT not_after FROM apple_identity WHERE serial = $1`, [
      after.serial,
    ]);
    expect(notAfter.toISOString()).toBe(new Date(cert.validTo).toISOString());
    const [traded] = await challengesOf(before.serial);
    expect(traded.used_at).not.toBeNull();
    expect(traded.serial).toBe(after.serial);
    const [old] = await t.db.query(`SELECT revoked_at, replaced_at FROM apple_identity WHERE serial = $1`, [
      before.serial,
    ]);
    expect(old.revoked_at).not.toBeNull();
    expect(old.replaced_at).not.toBeNull();
    const trail = (await auditOf(before.device)).map((e) => e.action);
    expect(trail).toEqual(expect.arrayContaining(['apple.scep-identity-issued', 'apple.identity-renewed']));

    // A stolen copy of the old identity can no longer speak for the phone.
    const thief = phone.withIdentity(oldIdentity).impersonate(phone.udid);
    const idle = await thief.send(`${t.url}/mdm/server`, { UDID: phone.udid, Status: 'Idle' });
    expect(idle.status).toBe(403);
    expect(idle.body.toString()).toContain('replaced by a renewed one');
    expect((await phone.poll()).httpStatus).toBe(200);
    // Renewed, it is not due again; the traded challenge cannot be traded again for another key.
    expect(await renewal().tick()).toEqual({ queued: 0, dropped: 0 });
    await expect(scepEnroll(scepPayloadOf(scepPayloadIn(payloads)))).rejects.toThrow(/already used/);
  });

  it('an Error answer withdraws the challenge and the identity it gave; the old identity keeps working, and the phone is tried again a day later', async () => {
    const phone = await enrollIPhone('demo-approver-interieur');
    const other = await enrollIPhone('demo-presse-interieur');
    const before = await identityOf(phone);
    await expiresIn(before.serial, 10);
    phone.dispose(); // this test answers for the phone: the push must not make it poll on its own
    expect((await renewal().tick()).queued).toBe(1);
    const first = await fetchInstall(phone);
    expect(first.payloads.some((p) => p.PayloadType === 'com.apple.security.pkcs12')).toBe(false);
    const payload = scepPayloadOf(scepPayloadIn(first.payloads));

    // The phone made its key and got its certificate, then the installation failed.
    const obtained = await scepEnroll(payload);
    const [issued] = await renewalsOf(before.serial);
    expect(issued).toMatchObject({ udid: null, revoked_at: null, renewal_command: first.uuid.toLowerCase() });
    const renewed = phone.withIdentity({ certPem: obtained.certPem, keyPem: obtained.keyPem }).impersonate(phone.udid);
    // It speaks for the renewed phone only, even before it took over.
    const otherPhone = await renewed.impersonate(other.udid).send(`${t.url}/mdm/server`, {
      UDID: other.udid,
      Status: 'Idle',
    });
    expect(otherPhone.status).toBe(403);
    expect(otherPhone.body.toString()).toContain('another device');
    expect((await renewed.authenticate()).status).toBe(200);
    expect((await identityOf(phone)).serial).toBe(before.serial);
    // Still pending (traded, not installed): no second renewal.
    expect((await renewal().tick()).queued).toBe(0);

    await answerError(phone, first.uuid);
    const [withdrawn] = await renewalsOf(before.serial);
    expect(withdrawn.revoked_at).not.toBeNull();
    const late = await renewed.send(`${t.url}/mdm/server`, { UDID: phone.udid, Status: 'Idle' });
    expect(late.status).toBe(403);
    expect((await phone.poll()).httpStatus).toBe(200);
    expect((await identityOf(phone)).serial).toBe(before.serial);
    const refusal = (await auditOf(before.device)).find((e) => e.action === 'apple.identity-renewal-refused');
    expect(refusal?.after).toMatchObject({ withdrawn: withdrawn.serial, reason: expect.stringContaining('SCEP') });
    expect((await renewal().tick()).queued).toBe(0);

    // A day later, once more; this time the phone fails before it trades the challenge.
    await t.db.query(`UPDATE apple_identity SET revoked_at = now() - interval '25 hours' WHERE serial = $1`, [
      withdrawn.serial,
    ]);
    expect((await renewal().tick()).queued).toBe(1);
    const second = await fetchInstall(phone);
    await answerError(phone, second.uuid);
    const challenges = await challengesOf(before.serial);
    expect(challenges).toHaveLength(2);
    expect(challenges[1].revoked_at).not.toBeNull();
    expect(challenges[1].used_at).toBeNull();
    // Withdrawn, it gives no certificate; the old identity still works; not again within the day.
    const refused = scepEnroll(scepPayloadOf(scepPayloadIn(second.payloads)));
    await expect(refused).rejects.toBeInstanceOf(ScepClientError);
    await expect(refused).rejects.toThrow(/withdrawn/);
    expect(await renewalsOf(before.serial)).toHaveLength(1);
    expect((await phone.poll()).httpStatus).toBe(200);
    expect((await renewal().tick()).queued).toBe(0);
    const refusals = (await auditOf(before.device)).filter((e) => e.action === 'apple.identity-renewal-refused');
    expect(refusals).toHaveLength(2);
    expect(refusals.find((e) => e.after.withdrawn === null)?.after).toMatchObject({ scepChallengeWithdrawn: true });

    // A day after that, the phone installs its renewal itself.
    await t.db.query(
      `UPDATE apple_scep_challenge SET revoked_at = now() - interval '25 hours' WHERE renews = $1 AND used_at IS NULL`,
      [before.serial],
    );
    expect((await renewal().tick()).queued).toBe(1);
    await phone.poll();
    const renewals = await renewalsOf(before.serial);
    expect(renewals).toHaveLength(2);
    expect(renewals[1].udid).toBe(phone.udid);
    expect((await identityOf(phone)).serial).toBe(renewals[1].serial);
  });

  it('two workers queue one renewal; a cancelled one drops its challenge and the phone is renewed at a later run', async () => {
    const phone = await enrollIPhone('demo-it-interieur');
    const before = await identityOf(phone);
    await expiresIn(before.serial, 10);
    phone.dispose(); // switched off: it hears no push
    const runs = await Promise.all([renewal().tick(), renewal().tick()]);
    expect(runs[0].queued + runs[1].queued).toBe(1);
    expect(await challengesOf(before.serial)).toHaveLength(1);
    await t.db.query(
      `UPDATE apple_command SET status = 'cancelled' WHERE device_id = $1 AND request_type = 'InstallProfile' AND status = 'queued'`,
      [before.device],
    );
    expect(await renewal().tick()).toEqual({ queued: 1, dropped: 1 });
    const challenges = await challengesOf(before.serial);
    expect(challenges).toHaveLength(1);
    expect(challenges[0].used_at).toBeNull();
    await phone.poll();
    const renewals = await renewalsOf(before.serial);
    expect(renewals).toHaveLength(1);
    expect((await identityOf(phone)).serial).toBe(renewals[0].serial);
  });

  it('a renewal challenge gives nothing once the identity it renews is no longer in use (the phone left)', async () => {
    const phone = await enrollIPhone('demo-agent-interieur');
    const before = await identityOf(phone);
    await expiresIn(before.serial, 10);
    phone.dispose();
    expect((await renewal().tick()).queued).toBe(1);
    const install = await fetchInstall(phone);
    // As a CheckOut leaves it: the identity bound to no phone any more, revoked.
    await t.db.query(`UPDATE apple_identity SET udid = NULL, revoked_at = now() WHERE serial = $1`, [before.serial]);
    const [{ n: auditBefore }] = await t.db.query(`SELECT count(*)::int AS n FROM audit_event`);
    await expect(scepEnroll(scepPayloadOf(scepPayloadIn(install.payloads)))).rejects.toThrow(/no longer in use/);
    expect(await renewalsOf(before.serial)).toEqual([]);
    const [challenge] = await challengesOf(before.serial);
    expect(challenge.used_at).toBeNull();
    const [{ n: auditAfter }] = await t.db.query(`SELECT count(*)::int AS n FROM audit_event`);
    expect(auditAfter).toBe(auditBefore);
  });
});
