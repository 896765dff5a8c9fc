/**
 * The Apple MDM test tooling itself (tools/apple-sim), without the service: the test PKI, the fake
 * APNs driven by @parse/node-apn, the schema validator, the CMS signatures, and the simulated
 * iPhone polling a tiny MDM server written here.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { connect as http2Connect, constants as h2 } from 'node:http2';
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Notification, Provider } from '@parse/node-apn';
import plist from 'plist';
import {
  validateCheckin,
  validateCommand,
  validateCommandResponse,
  validateProfilePayload,
} from '../../tools/apple-sim/apple-schema';
import { signDetached, verifyDetachedSignature } from '../../tools/apple-sim/cms';
import { FakeApns, startFakeApns } from '../../tools/apple-sim/fake-apns';
import { SimulatedIPhone } from '../../tools/apple-sim/device-simulator';
import {
  buildEnrollmentProfile,
  buildRestrictionsProfile,
  isPlistDict,
  PlistDict,
  signProfile,
} from '../../tools/apple-sim/mobileconfig';
import {
  createIdentity,
  createMdmPushCertificate,
  createServerCertificate,
  createTestCa,
  Identity,
  KeyAndCertificate,
  PushCertificate,
  readTopicFromCertificate,
  TestCa,
} from '../../tools/apple-sim/pki';

const TOKEN = 'a1'.repeat(32);

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

async function shutdown(provider: Provider): Promise<void> {
  // Provider.shutdown does not return the client's promise in 8.1: use the callback.
  await new Promise<void>((resolve) => provider.shutdown(resolve));
}

interface RawAnswer {
  status: number;
  body: string;
}

/** One HTTP/2 request to the fake APNs with a client certificate, bypassing node-apn's own checks. */
async function rawApns(
  fake: FakeApns,
  caPem: string,
  client: { certPem: string; keyPem: string },
  path: string,
  method: string,
  headers: Record<string, string>,
  body: string,
): Promise<RawAnswer> {
  const session = http2Connect(fake.url, { ca: caPem, cert: client.certPem, key: client.keyPem });
  try {
    return await new Promise<RawAnswer>((resolve, reject) => {
      session.on('error', reject);
      const req = session.request(
        { [h2.HTTP2_HEADER_METHOD]: method, [h2.HTTP2_HEADER_PATH]: path, ...headers },
        { endStream: false },
      );
      let status = 0;
      let text = '';
      req.setEncoding('utf8');
      req.on('response', (h) => (status = Number(h[h2.HTTP2_HEADER_STATUS])));
      req.on('data', (d: string) => (text += d));
      req.on('end', () => resolve({ status, body: text }));
      req.on('error', reject);
      req.end(body);
    });
  } finally {
    session.close();
  }
}

/**
 * A tiny MDM server: answers check-ins with 200, and every command-channel request with the next
 * queued command (then an empty body). Records every request (body, Mdm-Signature).
 */
interface Received {
  path: string;
  contentType: string | undefined;
  signature: string | undefined;
  body: Buffer;
  message: PlistDict;
}

async function startTinyMdm(): Promise<{
  url: string;
  queue: PlistDict[];
  received: Received[];
  close: () => Promise<void>;
}> {
  const queue: PlistDict[] = [];
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const message = plist.parse(body.toString('utf8'));
      const signature = req.headers['mdm-signature'];
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        signature: typeof signature === 'string' ? signature : undefined,
        body,
        message: isPlistDict(message) ? message : {},
      });
      if (req.method !== 'PUT') return void res.writeHead(405).end();
      if (req.url === '/checkin') return void res.writeHead(200).end();
      const next = queue.shift();
      if (!next) return void res.writeHead(200).end();
      res.writeHead(200, { 'content-type': 'application/xml' }).end(plist.build(next));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, queue, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function command(
  requestType: string,
  fields: PlistDict = {},
  uuid = `cmd-${requestType}-${Math.random().toString(16).slice(2)}`,
): PlistDict {
  return { CommandUUID: uuid, Command: { RequestType: requestType, ...fields } };
}

describe('apple-sim tooling', () => {
  let apple: TestCa;
  let pushCert: PushCertificate;
  let apnsServer: KeyAndCertificate;
  let deviceCa: TestCa;
  let identity: Identity;
  let fake: FakeApns;

  beforeAll(async () => {
    apple = createTestCa('Apple Sim Root CA');
    pushCert = createMdmPushCertificate(apple);
    apnsServer = createServerCertificate(apple, ['127.0.0.1', 'localhost']);
    deviceCa = createTestCa('MDM device identity CA');
    identity = createIdentity(deviceCa, 'device-identity');
    fake = await startFakeApns({ ca: apple, serverCert: apnsServer });
  });

  afterAll(async () => {
    await fake.close();
  });

  beforeEach(() => fake.reset());

  function provider(cert: { certPem: string; keyPem: string } = pushCert): Provider {
    return new Provider({
      cert: cert.certPem,
      key: cert.keyPem,
      production: false,
      address: '127.0.0.1',
      port: fake.port,
      ca: [apple.certPem],
    });
  }

  describe('PKI', () => {
    it('issues an MDM push certificate whose UID is the topic, with the APNs extensions, and a usable PKCS#12', () => {
      expect(pushCert.topic).toMatch(/^com\.apple\.mgmt\.External\.[0-9a-f-]{36}$/);
      expect(readTopicFromCertificate(pushCert.certPem)).toBe(pushCert.topic);
      expect(readTopicFromCertificate(identity.certPem)).toBeNull();
      const x509 = new X509Certificate(pushCert.certPem);
      expect(x509.subject).toContain(`UID=${pushCert.topic}`);
      expect(x509.subject).toContain(`CN=APSP:${pushCert.topic.slice('com.apple.mgmt.External.'.length)}`);
      expect(x509.verify(new X509Certificate(apple.certPem).publicKey)).toBe(true);
      // node-apn reads PKCS#12 too (pfx + passphrase) and validates it the same way.
      const fromP12 = new Provider({
        pfx: Buffer.from(pushCert.p12Base64, 'base64'),
        passphrase: pushCert.p12Password,
        address: '127.0.0.1',
        port: fake.port,
      });
      return shutdown(fromP12);
    });

    it('node-apn refuses a certificate without the APNs extensions', () => {
      expect(() => provider(identity)).toThrow(/does not support configured environment/);
    });
  });

  describe('fake APNs with @parse/node-apn', () => {
    it('accepts an MDM push ({"mdm": PushMagic}, apns-topic = certificate UID) and calls onPush', async () => {
      const woken: string[] = [];
      const off = fake.onPush((token, magic) => void woken.push(`${token}:${magic}`));
      const p = provider();
      try {
        const n = new Notification();
        n.mdm = 'PUSH-MAGIC-1';
        n.topic = pushCert.topic;
        const result = await p.send(n, TOKEN);
        expect(result.failed).toEqual([]);
        expect(result.sent).toEqual([
          expect.objectContaining({ device: TOKEN, 'apns-id': expect.stringMatching(/^[0-9a-f-]{36}$/) }),
        ]);

        const raw = new Notification();
        raw.rawPayload = { mdm: 'PUSH-MAGIC-2' };
        raw.topic = pushCert.topic;
        expect((await p.send(raw, TOKEN)).sent).toHaveLength(1);

        expect(fake.pushes.map((x) => [x.token, x.pushMagic, x.topic])).toEqual([
          [TOKEN, 'PUSH-MAGIC-1', pushCert.topic],
          [TOKEN, 'PUSH-MAGIC-2', pushCert.topic],
        ]);
        await new Promise((r) => setImmediate(r));
        expect(woken).toEqual([`${TOKEN}:PUSH-MAGIC-1`, `${TOKEN}:PUSH-MAGIC-2`]);
      } finally {
        off();
        await shutdown(p);
      }
    });

    it('checks topic, payload and token like APNs', async () => {
      const p = provider();
      const reasons: [number | undefined, string | undefined][] = [];
      const send = async (configure: (n: Notification) => void, token = TOKEN): Promise<void> => {
        const n = new Notification();
        configure(n);
        const r = await p.send(n, token);
        expect(r.sent).toEqual([]);
        reasons.push([r.failed[0]?.status, r.failed[0]?.response?.reason]);
      };
      try {
        await send((n) => {
          n.mdm = 'm';
          n.topic = 'com.apple.mgmt.External.00000000-0000-0000-0000-000000000000';
        });
        await send((n) => {
          n.mdm = 'm';
        });
        await send((n) => {
          n.alert = 'hello';
          n.topic = pushCert.topic;
        });
        await send((n) => {
          n.rawPayload = { mdm: 'm', aps: { 'content-available': 1 } };
          n.topic = pushCert.topic;
        });
        await send((n) => {
          n.rawPayload = { mdm: 'm', extra: true };
          n.topic = pushCert.topic;
        });
        await send((n) => {
          n.mdm = 'm';
          n.topic = pushCert.topic;
        }, 'not-a-token');
        await send((n) => {
          n.mdm = 'm';
          n.topic = pushCert.topic;
          n.pushType = 'alert';
        });
      } finally {
        await shutdown(p);
      }
      expect(reasons).toEqual([
        [400, 'TopicDisallowed'],
        [400, 'MissingTopic'],
        [400, 'BadPayload'],
        [400, 'BadPayload'],
        [400, 'BadPayload'],
        [400, 'BadDeviceToken'],
        [400, 'InvalidPushType'],
      ]);
      expect(fake.pushes).toEqual([]);

      const headers = { 'apns-topic': pushCert.topic };
      expect(await rawApns(fake, apple.certPem, pushCert, '/3/foo', 'POST', headers, '{"mdm":"m"}')).toEqual({
        status: 404,
        body: '{"reason":"BadPath"}',
      });
      expect(await rawApns(fake, apple.certPem, pushCert, `/3/device/${TOKEN}`, 'GET', headers, '')).toEqual({
        status: 405,
        body: '{"reason":"MethodNotAllowed"}',
      });
      expect(await rawApns(fake, apple.certPem, pushCert, `/3/device/${TOKEN}`, 'POST', headers, '')).toEqual({
        status: 400,
        body: '{"reason":"PayloadEmpty"}',
      });
      expect(await rawApns(fake, apple.certPem, pushCert, `/3/device/${TOKEN}`, 'POST', headers, 'mdm')).toEqual({
        status: 400,
        body: '{"reason":"BadPayload"}',
      });
      expect(fake.requests.at(-1)?.detail).toBe('the body is not JSON');
    });

    it('answers 410 Unregistered for a dead token, and injects 429/503 faults (node-apn retries them)', async () => {
      const p = provider();
      const n = new Notification();
      n.mdm = 'm';
      n.topic = pushCert.topic;
      try {
        fake.deadTokens.add(TOKEN);
        const dead = await p.send(n, TOKEN);
        expect(dead.failed).toEqual([
          expect.objectContaining({
            device: TOKEN,
            status: 410,
            response: { reason: 'Unregistered', timestamp: expect.any(Number) },
          }),
        ]);
        fake.deadTokens.clear();

        fake.failNext(1, 503);
        expect((await p.send(n, TOKEN)).sent).toHaveLength(1);
        expect(fake.requests.map((r) => r.status).slice(-2)).toEqual([503, 200]);

        // 1 try + connectionRetryLimit (3) retries.
        fake.failNext(4, 429);
        const throttled = await p.send(n, TOKEN);
        expect(throttled.failed).toEqual([
          expect.objectContaining({ status: 429, response: { reason: 'TooManyRequests' } }),
        ]);
        expect(fake.requests.filter((r) => r.reason === 'TooManyRequests')).toHaveLength(4);
      } finally {
        await shutdown(p);
      }
    });

    it('refuses a client certificate from another CA with 403 BadCertificate', async () => {
      const otherCa = createTestCa('Not Apple');
      const forged = createMdmPushCertificate(otherCa, pushCert.topic);
      const p = provider(forged);
      try {
        const n = new Notification();
        n.mdm = 'm';
        n.topic = pushCert.topic;
        const result = await p.send(n, TOKEN);
        expect(result.failed).toEqual([
          expect.objectContaining({ status: 403, response: { reason: 'BadCertificate' } }),
        ]);
      } finally {
        await shutdown(p);
      }
      // A certificate of the right CA without the APNs extensions is refused as well.
      const plain = createIdentity(apple, 'not-a-push-cert');
      const answer = await rawApns(
        fake,
        apple.certPem,
        plain,
        `/3/device/${TOKEN}`,
        'POST',
        { 'apns-topic': pushCert.topic },
        '{"mdm":"m"}',
      );
      expect(answer).toEqual({ status: 403, body: '{"reason":"BadCertificate"}' });
      expect(fake.pushes).toEqual([]);
    });
  });

  describe('apple-schema', () => {
    it('accepts a well-formed RemoveApplication and reports a missing required key, a wrong type and an unknown key', () => {
      expect(
        validateCommand('RemoveApplication', { RequestType: 'RemoveApplication', Identifier: 'com.example.app' }),
      ).toEqual([]);
      expect(validateCommand('RemoveApplication', { RequestType: 'RemoveApplication' })).toEqual([
        { path: 'Identifier', message: 'required key missing', kind: 'missing' },
      ]);
      expect(validateCommand('RemoveApplication', { RequestType: 'RemoveApplication', Identifier: 42 })).toEqual([
        { path: 'Identifier', message: 'expected <string>, got integer', kind: 'type' },
      ]);
      expect(
        validateCommand('RemoveApplication', { RequestType: 'RemoveApplication', Identifier: 'a', BundleID: 'a' }),
      ).toEqual([{ path: 'BundleID', message: 'key not in the schema', kind: 'unknown' }]);
    });

    it('checks nested types, value lists, check-in messages and profile payloads', () => {
      expect(
        validateCommand('DeviceInformation', { RequestType: 'DeviceInformation', Queries: ['UDID', 'NotAQuery'] }),
      ).toEqual([expect.objectContaining({ path: 'Queries[1]', kind: 'range' })]);
      expect(
        validateCommand('InstallApplication', {
          RequestType: 'InstallApplication',
          iTunesStoreID: 1,
          Options: { PurchaseMethod: 2 },
          Configuration: { anything: [1] },
        }),
      ).toEqual([expect.objectContaining({ path: 'Options.PurchaseMethod', kind: 'range' })]);
      expect(
        validateCheckin('TokenUpdate', {
          MessageType: 'TokenUpdate',
          Topic: 't',
          UDID: 'u',
          Token: Buffer.alloc(32),
          PushMagic: 'p',
        }),
      ).toEqual([]);
      expect(
        validateCheckin('TokenUpdate', {
          MessageType: 'TokenUpdate',
          Topic: 't',
          UDID: 'u',
          Token: 'not data',
          PushMagic: 'p',
        }),
      ).toEqual([expect.objectContaining({ path: 'Token', kind: 'type' })]);
      const payload = {
        PayloadType: 'com.apple.applicationaccess',
        PayloadVersion: 1,
        PayloadIdentifier: 'x.r',
        PayloadUUID: 'U',
        PayloadDisplayName: 'R',
        blockedAppBundleIDs: ['com.a'],
      };
      expect(validateProfilePayload('com.apple.applicationaccess', payload)).toEqual([]);
      expect(
        validateProfilePayload('com.apple.applicationaccess', {
          ...payload,
          blockedAppBundleIDs: 'com.a',
          PayloadUUID: undefined,
        }),
      ).toEqual([
        expect.objectContaining({ path: 'PayloadUUID', kind: 'missing' }),
        expect.objectContaining({ path: 'blockedAppBundleIDs', kind: 'type' }),
      ]);
      expect(
        validateCommandResponse('ManagedApplicationList', {
          UDID: 'u',
          CommandUUID: 'c',
          Status: 'Acknowledged',
          ManagedApplicationList: { 'com.a': { Status: 'Bogus' } },
        }),
      ).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ path: 'ManagedApplicationList["com.a"].Status', kind: 'range' }),
        ]),
      );
    });
  });

  describe('CMS (Mdm-Signature)', () => {
    it('verifies a detached signature over the exact body and returns the signer certificate', () => {
      const body = Buffer.from('<plist version="1.0"><dict><key>Status</key><string>Idle</string></dict></plist>\n');
      const signature = signDetached(body, identity);
      const ok = verifyDetachedSignature(body, signature);
      expect(ok).toEqual(expect.objectContaining({ ok: true, digestAlgorithm: 'sha256' }));
      expect(fingerprint(ok.certificatePem ?? '')).toBe(fingerprint(identity.certPem));
      expect(ok.signingTime).toBeInstanceOf(Date);

      const tampered = Buffer.from(body);
      tampered[tampered.length - 2] ^= 1;
      expect(verifyDetachedSignature(tampered, signature)).toEqual(
        expect.objectContaining({ ok: false, reason: 'messageDigest does not match the content' }),
      );
      expect(verifyDetachedSignature(body, 'not base64!')).toEqual(
        expect.objectContaining({ ok: false, reason: 'signature is not base64' }),
      );
      expect(verifyDetachedSignature(body, Buffer.from('garbage').toString('base64')).ok).toBe(false);
      // The messageDigest attribute replaced by the digest of another body: the signature breaks.
      const patched = Buffer.from(signature, 'base64');
      const mine = createHash('sha256').update(body).digest();
      const at = patched.indexOf(mine);
      expect(at).toBeGreaterThan(0);
      createHash('sha256').update('other').digest().copy(patched, at);
      expect(verifyDetachedSignature(Buffer.from('other'), patched.toString('base64'))).toEqual(
        expect.objectContaining({ ok: false, reason: 'bad signature' }),
      );
    });
  });

  describe('SimulatedIPhone', () => {
    let mdm: Awaited<ReturnType<typeof startTinyMdm>>;

    beforeEach(async () => {
      mdm = await startTinyMdm();
    });

    afterEach(async () => {
      await mdm.close();
    });

    function device(extra: Partial<ConstructorParameters<typeof SimulatedIPhone>[0]> = {}): SimulatedIPhone {
      return new SimulatedIPhone({
        identity,
        checkInUrl: `${mdm.url}/checkin`,
        serverUrl: `${mdm.url}/mdm`,
        topic: pushCert.topic,
        installedApps: [
          { bundleId: 'com.example.notes', name: 'Notes Pro', managed: true, iTunesStoreID: 1234 },
          { bundleId: 'com.whatsapp.WhatsApp', name: 'WhatsApp' },
        ],
        ...extra,
      });
    }

    it('answers InstalledApplicationList with a schema-valid response, every request signed', async () => {
      const phone = device();
      mdm.queue.push(command('InstalledApplicationList', {}, 'CMD-1'));
      const result = await phone.poll();

      expect(result).toEqual(expect.objectContaining({ stoppedBy: 'empty', httpStatus: 200 }));
      expect(phone.commandsReceived).toEqual([
        { RequestType: 'InstalledApplicationList', CommandUUID: 'CMD-1', status: 'Acknowledged' },
      ]);
      expect(phone.schemaViolations).toEqual([]);

      expect(mdm.received.map((r) => [r.path, r.contentType, r.message.Status])).toEqual([
        ['/mdm', 'application/x-apple-aspen-mdm', 'Idle'],
        ['/mdm', 'application/x-apple-aspen-mdm', 'Acknowledged'],
      ]);
      const answer = mdm.received[1].message;
      expect(validateCommandResponse('InstalledApplicationList', answer)).toEqual([]);
      expect(answer).toEqual(
        expect.objectContaining({
          UDID: phone.udid,
          CommandUUID: 'CMD-1',
          InstalledApplicationList: [
            expect.objectContaining({
              Identifier: 'com.example.notes',
              Name: 'Notes Pro',
              Version: '1.0',
              BundleSize: 50_000_000,
              IsValidated: true,
            }),
            expect.objectContaining({ Identifier: 'com.whatsapp.WhatsApp', Name: 'WhatsApp' }),
          ],
        }),
      );
      for (const request of mdm.received) {
        const verdict = verifyDetachedSignature(request.body, request.signature ?? '');
        expect(verdict.reason).toBeUndefined();
        expect(verdict.ok).toBe(true);
        expect(fingerprint(verdict.certificatePem ?? '')).toBe(fingerprint(identity.certPem));
      }
    });

    it('enrolls from a .mobileconfig (identity from the PKCS#12 payload) and checks in', async () => {
      const profile = buildEnrollmentProfile({
        serverUrl: `${mdm.url}/mdm`,
        checkInUrl: `${mdm.url}/checkin`,
        topic: pushCert.topic,
        identity,
        accessRights: 8191,
      });
      const phone = SimulatedIPhone.fromEnrollmentProfile(profile, { serial: 'F17TEST001' });
      expect(phone.topic).toBe(pushCert.topic);
      expect(phone.enrollment?.signed).toBe(false);
      await phone.enroll();
      await phone.checkOut();
      const [auth, token, checkout] = mdm.received;
      expect(auth).toEqual(
        expect.objectContaining({ path: '/checkin', contentType: 'application/x-apple-aspen-mdm-checkin' }),
      );
      expect(auth.message).toEqual(
        expect.objectContaining({
          MessageType: 'Authenticate',
          Topic: pushCert.topic,
          UDID: phone.udid,
          SerialNumber: 'F17TEST001',
          OSVersion: '18.1',
          BuildVersion: '22B83',
          ProductName: 'iPhone15,2',
        }),
      );
      expect(token.message).toEqual(
        expect.objectContaining({
          MessageType: 'TokenUpdate',
          PushMagic: phone.pushMagic,
          AwaitingConfiguration: false,
        }),
      );
      expect(Buffer.isBuffer(token.message.Token) && (token.message.Token as Buffer).equals(phone.pushToken)).toBe(
        true,
      );
      expect(checkout.message).toEqual({ MessageType: 'CheckOut', Topic: pushCert.topic, UDID: phone.udid });
      for (const r of mdm.received) {
        expect(validateCheckin(String(r.message.MessageType), r.message)).toEqual([]);
        expect(fingerprint(verifyDetachedSignature(r.body, r.signature ?? '').certificatePem ?? '')).toBe(
          fingerprint(identity.certPem),
        );
      }

      // A signed enrollment profile works too; SignMessage false means no Mdm-Signature.
      const signed = signProfile(
        buildEnrollmentProfile({ serverUrl: `${mdm.url}/mdm`, topic: pushCert.topic, identity, signMessage: false }),
        identity,
      );
      const quiet = SimulatedIPhone.fromEnrollmentProfile(signed);
      expect(quiet.enrollment).toEqual(
        expect.objectContaining({ signed: true, signature: expect.objectContaining({ ok: true }) }),
      );
      await quiet.authenticate();
      expect(mdm.received.at(-1)).toEqual(expect.objectContaining({ path: '/mdm', signature: undefined }));
    });

    it('installs restrictions, manages apps, answers errors, and wakes up on a push', async () => {
      const phone = device();
      const restrictions = buildRestrictionsProfile({
        identifier: 'fr.gouv.policy.apps',
        blockedAppBundleIDs: ['com.whatsapp.WhatsApp', 'com.tiktok'],
      });
      mdm.queue.push(
        command('InstallProfile', { Payload: Buffer.from(restrictions) }, 'P1'),
        command('RemoveApplication', { Identifier: 'com.whatsapp.WhatsApp' }, 'R1'),
        command('InstallApplication', { iTunesStoreID: 310633997, ManagementFlags: 1 }, 'I1'),
        command(
          'DeviceInformation',
          { Queries: ['UDID', 'IsSupervised', 'OSVersion', 'SerialNumber', 'WiFiMAC'] },
          'D1',
        ),
        command('ProfileList', {}, 'L1'),
        command('ManagedApplicationList', {}, 'M1'),
        command('EraseDevice', { PIN: '123456' }, 'E1'),
      );
      const result = await phone.poll();
      expect(result.stoppedBy).toBe('empty');
      expect(phone.commandsReceived.map((c) => `${c.RequestType}:${c.status}`)).toEqual([
        'InstallProfile:Acknowledged',
        'RemoveApplication:Error',
        'InstallApplication:Acknowledged',
        'DeviceInformation:Acknowledged',
        'ProfileList:Acknowledged',
        'ManagedApplicationList:Acknowledged',
        'EraseDevice:Error',
      ]);
      expect(phone.schemaViolations).toEqual([]);
      expect(phone.blockedBundleIds).toEqual(['com.tiktok', 'com.whatsapp.WhatsApp']);
      expect(phone.isAppAllowed('com.whatsapp.WhatsApp')).toBe(false);
      expect(phone.installedApps.map((a) => [a.bundleId, a.managed])).toEqual([
        ['com.example.notes', true],
        ['com.whatsapp.WhatsApp', false],
        ['store.app.310633997', true],
      ]);
      const answers = new Map(mdm.received.map((r) => [r.message.CommandUUID, r.message]));
      expect(answers.get('R1')?.ErrorChain).toEqual([
        expect.objectContaining({
          ErrorDomain: 'MCMDMErrorDomain',
          LocalizedDescription: expect.stringContaining('not managed'),
        }),
      ]);
      expect(answers.get('D1')?.QueryResponses).toEqual({
        UDID: phone.udid,
        IsSupervised: true,
        OSVersion: '18.1',
        SerialNumber: phone.serial,
      });
      expect(answers.get('L1')?.ProfileList).toEqual([
        expect.objectContaining({ PayloadIdentifier: 'fr.gouv.policy.apps' }),
      ]);
      for (const [uuid, type] of [
        ['R1', 'RemoveApplication'],
        ['D1', 'DeviceInformation'],
        ['L1', 'ProfileList'],
      ]) {
        expect(validateCommandResponse(type, answers.get(uuid))).toEqual([]);
      }
      // The YAML marks UnusedRedemptionCode required; iOS (and the simulator) send it only when there is one.
      expect(validateCommandResponse('ManagedApplicationList', answers.get('M1')).map((v) => v.path)).toEqual([
        'ManagedApplicationList["com.example.notes"].UnusedRedemptionCode',
        'ManagedApplicationList["store.app.310633997"].UnusedRedemptionCode',
      ]);

      // A malformed command and a malformed payload are reported.
      mdm.queue.push(
        command('RemoveProfile', {}, 'X1'),
        command(
          'InstallProfile',
          {
            Payload: Buffer.from(
              buildRestrictionsProfile({
                identifier: 'bad',
                restrictions: { blockedAppBundleIDs: 'com.x', allowFoo: true },
              }),
            ),
          },
          'X2',
        ),
      );
      await phone.poll();
      expect(phone.commandsReceived.slice(-2).map((c) => c.status)).toEqual(['CommandFormatError', 'Error']);
      expect(phone.schemaViolations).toEqual([
        expect.objectContaining({
          source: 'command',
          requestType: 'RemoveProfile',
          path: 'Identifier',
          kind: 'missing',
        }),
        expect.objectContaining({ source: 'payload', path: 'PayloadContent[0].blockedAppBundleIDs', kind: 'type' }),
        expect.objectContaining({ source: 'payload', path: 'PayloadContent[0].allowFoo', kind: 'unknown' }),
      ]);

      // A push through the fake APNs (node-apn) wakes the device, which polls.
      phone.connectTo(fake);
      mdm.queue.push(command('RemoveProfile', { Identifier: 'fr.gouv.policy.apps' }, 'W1'));
      const polled = phone.waitForPoll();
      const p = provider();
      try {
        const n = new Notification();
        n.mdm = phone.pushMagic;
        n.topic = phone.topic;
        expect((await p.send(n, phone.pushTokenHex)).sent).toHaveLength(1);
      } finally {
        await shutdown(p);
      }
      expect((await polled).commands.map((c) => c.CommandUUID)).toEqual(['W1']);
      expect(phone.blockedBundleIds).toEqual([]);
      phone.dispose();
    });

    it('answers NotNow and stops polling; impersonation signs with its own identity', async () => {
      const phone = device({ notNowRate: 1 });
      mdm.queue.push(command('ProfileList', {}, 'N1'), command('ProfileList', {}, 'N2'));
      const result = await phone.poll();
      expect(result.stoppedBy).toBe('notNow');
      expect(phone.commandsReceived).toEqual([{ RequestType: 'ProfileList', CommandUUID: 'N1', status: 'NotNow' }]);
      expect(phone.ignoredAfterNotNow).toHaveLength(1);

      const victim = 'VICTIM-UDID-0001';
      const impostor = phone.impersonate(victim);
      await impostor.authenticate();
      const last = mdm.received.at(-1);
      expect(last?.message.UDID).toBe(victim);
      const verdict = verifyDetachedSignature(last?.body ?? Buffer.alloc(0), last?.signature ?? '');
      expect(verdict.ok).toBe(true);
      expect(fingerprint(verdict.certificatePem ?? '')).toBe(fingerprint(identity.certPem));

      const unsigned = device({ signRequests: false });
      await unsigned.poll();
      expect(mdm.received.at(-1)?.signature).toBeUndefined();
    });
  });
});
