/** How the service reaches the Android Management API and verifies its Pub/Sub pushes. */
export interface AndroidSettings {
  /** googleapis `rootUrl`: Google's in production, the fake AMAPI in tests and demos. */
  rootUrl: string;
  /** A fixed access token (fake AMAPI, or a token obtained elsewhere); otherwise the service account. */
  accessToken?: string;
  /** GOOGLE_APPLICATION_CREDENTIALS: the service account's JSON key. */
  credentialsFile?: string;
  /** Google Cloud project of the EMM (signup URLs). */
  projectId?: string;
  /** Published quota: requests per 100 s per project, shared by every worker. */
  quotaPer100s: number;
  timeoutMs: number;
  /**
   * How status reports arrive: `pull` (a worker pulls batches of up to 1,000 from the Pub/Sub
   * subscription: large fleets) or `push` (Google POSTs each to /android/pubsub). Default push.
   */
  reports?: 'pull' | 'push';
  pubsub: {
    /** Pull mode: the subscription of the topic (projects/P/subscriptions/S). */
    subscription?: string;
    /** googleapis `rootUrl` of the Pub/Sub API: Google's by default, a fake in tests. */
    rootUrl?: string;
    /** Topic given to enterprises created through the signup flow (projects/P/topics/T). */
    topic?: string;
    /** Expected `aud` of the push's OIDC token (the push endpoint URL, as configured in Pub/Sub). */
    audience?: string;
    jwksUrl: string;
    /** Expected `email` of the push token: the subscription's service account. */
    serviceAccountEmail?: string;
  };
}

export const ANDROID_SETTINGS = Symbol('ANDROID_SETTINGS');
