import { AndroidSettings } from '../../src/android/android-settings';
import { FakeAmapi } from '../../../tools/fake-amapi/fake-amapi';

/** The audience our Pub/Sub push endpoint expects; the fake signs its pushes for it. */
export const PUBSUB_AUDIENCE = 'https://mdm.example.gouv.fr/android/pubsub';

/** The service's Android settings pointed at a fake Android Management API (and its Pub/Sub). */
export function fakeAmapiSettings(fake: FakeAmapi, overrides: Partial<AndroidSettings> = {}): AndroidSettings {
  return {
    rootUrl: fake.url,
    accessToken: fake.accessToken,
    projectId: 'mdm-etat',
    quotaPer100s: 100_000,
    timeoutMs: 1500,
    pubsub: {
      audience: PUBSUB_AUDIENCE,
      jwksUrl: fake.pubsubJwksUrl,
      serviceAccountEmail: fake.pubsubServiceAccountEmail,
      topic: 'projects/mdm-etat/topics/amapi',
    },
    ...overrides,
  };
}
