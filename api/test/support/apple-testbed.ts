import type { AppleSettings } from '../../src/apple/apple-settings';
import { FakeApns, startFakeApns } from '../../../tools/apple-sim/fake-apns';
import { createServerCertificate, PushCertificate, TestCa } from '../../../tools/apple-sim/pki';
import { freePort } from './ports';
import { startTestApp, TestApp } from './test-app';

export interface AppleTestbed {
  t: TestApp;
  apns: FakeApns;
  close(): Promise<void>;
}

/**
 * The Apple MDM service as the iPhone specs need it: a strict fake APNs under the test "Apple" CA,
 * the service listening on a free port with the Apple settings given (identity proven by the
 * Mdm-Signature), and the push certificate uploaded by the national administrator.
 */
export async function startAppleTestbed(
  apple: TestCa,
  push: PushCertificate,
  settings: Partial<AppleSettings> = {},
): Promise<AppleTestbed> {
  const apns = await startFakeApns({
    ca: apple,
    serverCert: createServerCertificate(apple, ['127.0.0.1', 'localhost']),
    expectedTopic: push.topic,
  });
  const port = await freePort();
  const t = await startTestApp({
    listen: true,
    port,
    apple: {
      serverBaseUrl: `http://127.0.0.1:${port}`,
      apnsHost: '127.0.0.1',
      apnsPort: apns.port,
      apnsCaPem: apple.certPem,
      identityFrom: 'signature',
      proxyCertHeader: 'X-Client-Certificate',
      ...settings,
    },
  });
  await (
    await t.as('admin.national')
  )
    .put('/apple/push-certificate')
    .send({ certificatePem: push.certPem, privateKeyPem: push.keyPem })
    .expect(200);
  return {
    t,
    apns,
    close: async () => {
      await t.close();
      await apns.close();
    },
  };
}
