/**
 * SCEP (APPLE_IDENTITY_DELIVERY=scep) and signed enrollment profiles, through HTTP against the real
 * test database: the simulated iPhone installs the signed profile, makes its key, trades the
 * one-time challenge for its certificate at /apple/scep (GetCACaps, GetCACert, PKIOperation) and
 * checks in with it. The interop with micromdm's scepclient is tools/scep-interop.sh (in .ci/run).
 */
import fc from 'fast-check';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { AppleCaService } from '../src/apple/apple-ca.service';
import { APPLE_SETTINGS, AppleSettings } from '../src/apple/apple-settings';
import { ProfileSignerService } from '../src/apple/cms/profile-signer.service';
import { SimulatedIPhone } from '../../tools/apple-sim/device-simulator';
import type { FakeApns } from '../../tools/apple-sim/fake-apns';
import { parseMobileconfig, payloadsOf, PlistDict } from '../../tools/apple-sim/mobileconfig';
import { createMdmPushCertificate, createServerCertificate, createTestCa } from '../../tools/apple-sim/pki';
import {
  installEnrollmentProfile,
  ScepClientError,
  scepEnroll,
  scepIdentityOf,
  scepPayloadOf,
} from '../../tools/apple-sim/scep-client';
import { countRows, TestApp } from './support/test-app';
import { AppleTestbed, startAppleTestbed } from './support/apple-testbed';

let t: TestApp;
let apns: FakeApns;
let bed: AppleTestbed;
const apple = createTestCa('Apple Sim Root CA');
const push = createMdmPushCertificate(apple);
const phones: SimulatedIPhone[] = [];

beforeAll(async () => {
  bed = await startAppleTestbed(apple, push, { identityDelivery: 'scep' });
  ({ t, apns } = bed);
});
afterAll(async () => {
  await bed.close();
});

async function agentId(sub: string): Promise<string> {
  return (await t.db.query(`SELECT id FROM agent WHERE sub = $1`, [sub]))[0].id;
}

/** A fresh link of the agent and the bytes of its profile, as the phone downloads them. */
async function download(agentSub: string): Promise<{ linkId: string; profile: Buffer }> {
  const link = await (
    await t.as('it.interieur')
  )
    .post('/ministries/interieur/apple/enrollment-links')
    .send({ agentId: await agentId(agentSub), expiresInHours: 24 })
    .expect(201);
  const res = await fetch(link.body.url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('application/x-apple-aspen-config');
  return { linkId: link.body.id, profile: Buffer.from(await res.arrayBuffer()) };
}

async function caPem(): Promise<string> {
  return (await t.db.query(`SELECT cert_pem FROM apple_ca WHERE id = 1`))[0].cert_pem;
}

/** What a refused SCEP request must leave untouched. */
async function counts(): Promise<Record<string, number>> {
  return {
    identities: await countRows(t.db, 'apple_identity'),
    audit: await countRows(t.db, 'audit_event'),
    used: (await t.db.query(`SELECT count(*)::int AS n FROM apple_scep_challenge WHERE used_at IS NOT NULL`))[0].n,
    devices: await countRows(t.db, 'device'),
  };
}

function scepPayload(profile: Buffer): PlistDict {
  const payloads = payloadsOf(parseMobileconfig(profile).profile);
  const found = payloads.find((p) => p.PayloadType === 'com.apple.security.scep');
  if (!found) throw new Error('no SCEP payload');
  return found;
}

describe('SCEP device identities and signed enrollment profiles', () => {
  it('an iPhone enrolls through SCEP with a key made on the phone, and checks in with the certificate it got', async () => {
    const { linkId, profile } = await download('demo-agent-interieur');
    const parsed = parseMobileconfig(profile);
    // Signed (DER CMS), by the service's own signing certificate when none is configured.
    expect(parsed.signed).toBe(true);
    expect(parsed.signature?.ok).toBe(true);
    const signer = new X509Certificate(parsed.signature?.certificatePem ?? '');
    expect(signer.verify(new X509Certificate(await caPem()).publicKey)).toBe(true);
    expect(signer.subject).toContain('signature des profils');
    const served = await t.app.get(ProfileSignerService).certificatePem();
    expect(signer.raw.equals(new X509Certificate(served).raw)).toBe(true);

    // No key in the profile: a SCEP payload (Apple's keys) instead of a PKCS#12.
    const payloads = payloadsOf(parsed.profile);
    expect(payloads.map((p) => p.PayloadType).sort()).toEqual(['com.apple.mdm', 'com.apple.security.scep']);
    expect(parsed.xml).not.toContain('com.apple.security.pkcs12');
    const scep = scepPayload(profile);
    const mdm = payloads.find((p) => p.PayloadType === 'com.apple.mdm') as PlistDict;
    expect(mdm.IdentityCertificateUUID).toBe(scep.PayloadUUID);
    expect(scep.PayloadContent).toEqual({
      URL: `${t.url}/apple/scep`,
      Name: 'mdm-apps-etat',
      Subject: [[['CN', expect.stringMatching(/^appareil [0-9a-f-]{36}$/)]]],
      Challenge: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
      Keysize: 2048,
      'Key Type': 'RSA',
      'Key Usage': 5,
    });
    // Only the challenge's hash is stored.
    const challenge = (scep.PayloadContent as PlistDict).Challenge as string;
    expect(JSON.stringify(await t.db.query(`SELECT * FROM apple_scep_challenge`))).not.toContain(challenge);

    const phone = await installEnrollmentProfile(profile, { installedApps: [], supervised: true, notNowRate: 0 });
    phones.push(phone);
    const exchange = scepIdentityOf(phone);
    expect(exchange?.exchange).toEqual(
      expect.objectContaining({
        usedPost: true,
        cipher: 'aes-128-cbc',
        capabilities: expect.arrayContaining(['POSTPKIOperation', 'SCEPStandard', 'AES', 'SHA-256']),
      }),
    );
    phone.connectTo(apns);
    await phone.enroll();

    // The certificate is our CA's, for the phone's key, bound like a PKCS#12 identity.
    const cert = new X509Certificate(exchange?.certPem ?? '');
    expect(cert.checkIssued(new X509Certificate(await caPem()))).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(exchange?.keyPem ?? ''))).toBe(true);
    const [identity] = await t.db.query(
      `SELECT enrollment_id, udid, enrolled_at FROM apple_identity WHERE serial = $1`,
      [cert.serialNumber.toLowerCase()],
    );
    expect(identity).toMatchObject({ enrollment_id: linkId, udid: phone.udid });
    expect(identity.enrolled_at).not.toBeNull();
    const [device] = await t.db.query(`SELECT ministry_code, apple_identity_serial FROM device WHERE apple_udid = $1`, [
      phone.udid,
    ]);
    expect(device).toEqual({ ministry_code: 'interieur', apple_identity_serial: cert.serialNumber.toLowerCase() });
    const [audit] = await t.db.query(
      `SELECT actor, ministry_code, after FROM audit_event WHERE action = 'apple.scep-identity-issued' AND entity_id = $1`,
      [linkId],
    );
    expect(audit).toMatchObject({
      actor: 'system: SCEP',
      ministry_code: 'interieur',
      after: expect.objectContaining({ serial: cert.serialNumber.toLowerCase() }),
    });
    expect(phone.schemaViolations).toEqual([]);

    // The very same request again (the phone missed the answer): the same certificate, nothing written.
    const before = await counts();
    expect(new X509Certificate(await (exchange?.exchange.resend() ?? '')).raw.equals(cert.raw)).toBe(true);
    expect(await counts()).toEqual(before);

    // The challenge was used once: the same profile again (a new key, a new request) is refused, and writes nothing.
    const again = await installEnrollmentProfile(profile).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ScepClientError);
    expect(again).toMatchObject({ failInfo: 'badRequest' });
    expect((again as Error).message).toContain('already used');
    expect(await counts()).toEqual(before);
  });

  it('refuses an unknown challenge, a renewal, and a request signed by another key than the one it is for, writing nothing', async () => {
    const { profile } = await download('demo-agent-interieur');
    const payload = scepPayloadOf(scepPayload(profile));
    const before = await counts();
    await expect(scepEnroll(payload, { challenge: 'not-the-challenge' })).rejects.toMatchObject({
      failInfo: 'badRequest',
      message: expect.stringContaining('challenge is unknown'),
    });
    await expect(scepEnroll(payload, { messageType: '17' })).rejects.toMatchObject({
      failInfo: 'badRequest',
      message: expect.stringContaining('Renewal is not offered here'),
    });
    await expect(scepEnroll(payload, { signWithOtherKey: true })).rejects.toMatchObject({
      failInfo: 'badMessageCheck',
      message: expect.stringContaining('signed by another key'),
    });
    expect(await counts()).toEqual(before);
    // The challenge is still good (nothing consumed it): PKIOperation by GET this time, with triple
    // DES and SHA-1 as older devices do; the answer comes in the same cipher.
    const identity = await scepEnroll(payload, { forceGet: true, legacyAlgorithms: true });
    expect(identity.exchange).toMatchObject({ usedPost: false, cipher: 'des-ede3-cbc' });
    expect((await counts()).identities).toBe(before.identities + 1);
  });

  it('a revoked link withdraws its challenge', async () => {
    const { linkId, profile } = await download('demo-agent-interieur');
    await (await t.as('it.interieur')).delete(`/ministries/interieur/apple/enrollment-links/${linkId}`).expect(200);
    const before = await counts();
    await expect(scepEnroll(scepPayloadOf(scepPayload(profile)))).rejects.toMatchObject({
      failInfo: 'badRequest',
      message: expect.stringContaining('withdrawn'),
    });
    expect(await counts()).toEqual(before);
  });

  it('a challenge expires after an hour, and a second download of the link withdraws the first one', async () => {
    const { profile } = await download('demo-agent-interieur');
    const payload = scepPayloadOf(scepPayload(profile));
    await t.db.query(
      `UPDATE apple_scep_challenge SET expires_at = now() - interval '1 second' WHERE challenge_hash = $1`,
      [
        createHash('sha256')
          .update(payload.challenge ?? '')
          .digest(),
      ],
    );
    const before = await counts();
    await expect(scepEnroll(payload)).rejects.toMatchObject({
      failInfo: 'badRequest',
      message: expect.stringContaining('expired'),
    });

    const link = await (
      await t.as('it.interieur')
    )
      .post('/ministries/interieur/apple/enrollment-links')
      .send({ agentId: await agentId('demo-agent-interieur'), expiresInHours: 24 })
      .expect(201);
    const first = Buffer.from(await (await fetch(link.body.url)).arrayBuffer());
    const second = Buffer.from(await (await fetch(link.body.url)).arrayBuffer());
    await expect(scepEnroll(scepPayloadOf(scepPayload(first)))).rejects.toMatchObject({
      failInfo: 'badRequest',
      message: expect.stringContaining('withdrawn'),
    });
    expect((await counts()).identities).toBe(before.identities);
    await scepEnroll(scepPayloadOf(scepPayload(second)));
    expect((await counts()).identities).toBe(before.identities + 1);
  });

  it('answers what is not a SCEP request with a 400 and a sentence', async () => {
    const before = await counts();
    const post = (body: Buffer) =>
      fetch(`${t.url}/apple/scep?operation=PKIOperation`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-pki-message' },
        body,
      });
    const garbage = await post(Buffer.from('not a PKCS#7 message'));
    expect(garbage.status).toBe(400);
    expect(((await garbage.json()) as { message: string }).message).toMatch(
      /^The PKIOperation message is not a CMS SignedData/,
    );
    const empty = await post(Buffer.alloc(0));
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { message: string }).message).toBe('The PKIOperation message is empty.');
    const notBase64 = await fetch(`${t.url}/apple/scep?operation=PKIOperation&message=%25%25`);
    expect(notBase64.status).toBe(400);
    expect(((await notBase64.json()) as { message: string }).message).toBe(
      'The PKIOperation message is not base64 of a SCEP request.',
    );
    const huge = await post(Buffer.alloc(100 * 1024, 0x30));
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { message: string }).message).toContain('larger than a SCEP request can be');
    const unknown = await fetch(`${t.url}/apple/scep?operation=GetNextCACert`);
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { message: string }).message).toContain(
      'this server answers GetCACaps, GetCACert, PKIOperation',
    );
    // A SignedData that is not SCEP (a signed profile): no transactionID to answer to.
    const notScep = await post((await download('demo-agent-interieur')).profile);
    expect(notScep.status).toBe(400);
    expect(((await notScep.json()) as { message: string }).message).toContain('lacks the SCEP attributes');
    const after = await counts();
    expect({ ...after, audit: before.audit }).toEqual(before); // the download above audits its link only
  });

  it('a PKIOperation changed anywhere is answered (CertRep or 400), never a 500, and writes nothing', async () => {
    const { profile } = await download('demo-agent-interieur');
    const { exchange } = await scepEnroll(scepPayloadOf(scepPayload(profile)));
    const before = await counts();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(exchange.request.length - 1), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        async (flips) => {
          const mutated = Buffer.from(exchange.request);
          for (const [at, bits] of flips) mutated[at] ^= bits;
          const res = await fetch(`${t.url}/apple/scep?operation=PKIOperation`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-pki-message' },
            body: mutated,
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 400) expect(((await res.json()) as { message: string }).message).toMatch(/^The /);
          else {
            expect(res.status).toBe(200);
            expect(res.headers.get('content-type')).toContain('application/x-pki-message');
            await res.arrayBuffer();
          }
        },
      ),
      { numRuns: 150, seed: 8894 },
    );
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([200, 400]));
    expect(await counts()).toEqual(before);
  });

  it('GetCACaps and GetCACert describe the device CA', async () => {
    const caps = await fetch(`${t.url}/apple/scep?operation=GetCACaps`);
    expect(caps.headers.get('content-type')).toContain('text/plain');
    expect((await caps.text()).split('\n')).toEqual(
      expect.arrayContaining(['POSTPKIOperation', 'SCEPStandard', 'AES']),
    );
    const ca = await fetch(`${t.url}/apple/scep?operation=GetCACert`);
    expect(ca.headers.get('content-type')).toContain('application/x-x509-ca-cert');
    expect(
      new X509Certificate(Buffer.from(await ca.arrayBuffer())).raw.equals(new X509Certificate(await caPem()).raw),
    ).toBe(true);
  });

  it('a profile changed by one byte is refused by the phone; a configured signing certificate signs', async () => {
    const { profile } = await download('demo-agent-interieur');
    const xml = parseMobileconfig(profile).xml;
    const at = profile.indexOf(Buffer.from('<string>Gestion des applications</string>'));
    expect(at).toBeGreaterThan(0);
    const tampered = Buffer.from(profile);
    tampered[at + 8] ^= 0x01; // "Gestion" -> "Festion"
    expect(() => SimulatedIPhone.fromEnrollmentProfile(tampered)).toThrow(/signature is invalid/);
    await expect(installEnrollmentProfile(tampered)).rejects.toThrow(/signature is invalid/);

    // APPLE_PROFILE_SIGNING_*: the configured certificate (e.g. the public host's TLS one) and its chain.
    const hostCa = createTestCa('Host TLS CA');
    const host = createServerCertificate(hostCa, ['mdm.example.gouv.fr']);
    const settings: AppleSettings = {
      ...t.app.get<AppleSettings>(APPLE_SETTINGS),
      profileSigning: { certPem: `${host.certPem}${hostCa.certPem}`, keyPem: host.keyPem },
    };
    const signed = await new ProfileSignerService(settings, t.app.get(AppleCaService)).sign(xml);
    const verdict = parseMobileconfig(signed);
    expect(verdict.signature?.ok).toBe(true);
    expect(
      new X509Certificate(verdict.signature?.certificatePem ?? '').raw.equals(new X509Certificate(host.certPem).raw),
    ).toBe(true);
    expect(verdict.signature?.certificatesPem?.length).toBe(2);
    expect(verdict.xml).toBe(xml);
  });
});
