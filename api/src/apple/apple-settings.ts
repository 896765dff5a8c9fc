/** How the service talks to APNs and tells devices where it is. */
export interface AppleSettings {
  /** Public base URL of the MDM endpoints (https in production; what enrolled devices call). */
  serverBaseUrl: string;
  apnsHost: string;
  apnsPort: number;
  /** Extra CA trusted for the APNs connection (tests: the fake APNs' CA). */
  apnsCaPem?: string;
  /** An APNs request without an answer after this long is given up and tried again (default 5000 ms). */
  apnsTimeoutMs?: number;
  /** How a request's device identity is proven: the Mdm-Signature header, or a client certificate forwarded by the TLS proxy. */
  identityFrom: 'signature' | 'proxy-header';
  proxyCertHeader: string;
  /**
   * Device identities kept ready in memory for enrollment profiles, refilled in the background
   * (APPLE_IDENTITY_POOL; 0 or absent: each profile issues its own).
   */
  identityPool?: number;
  /** Answered commands are deleted after this many days (APPLE_COMMAND_RETENTION_DAYS; default 30). */
  commandRetentionDays?: number;
  /** Every iPhone is inventoried once in this many hours, spread evenly (APPLE_INVENTORY_PERIOD_HOURS; default 24). */
  inventoryPeriodHours?: number;
  /**
   * Device identities are renewed this many days before they lapse (APPLE_IDENTITY_RENEW_DAYS;
   * default 60): a share each minute, by an InstallProfile of a fresh enrollment profile.
   */
  identityRenewDays?: number;
  /** Apple Business Manager device assignment API (ABM_URL; default https://mdmenrollment.apple.com). */
  abmUrl?: string;
  /** Apps and Books API (APPS_BOOKS_URL; default https://vpp.itunes.apple.com). */
  appsBooksUrl?: string;
  /** NODE_ENV=production: the MDM URLs must be https (an http ADE profile `url` is refused). */
  production?: boolean;
  /**
   * Trust anchors (PEM, one or more certificates) an ADE iPhone's machine information signer must
   * chain to (ADE_DEVICE_CA_FILE; default Apple's roots, see abm/apple-device-roots.ts).
   */
  deviceCaPem?: string;
  /** The worker syncs ABM and Apps and Books every this many minutes (ABM_SYNC_PERIOD_MINUTES; default 60). */
  syncPeriodMinutes?: number;
  /**
   * How an enrollment profile gives the phone its identity (APPLE_IDENTITY_DELIVERY): `pkcs12`
   * (default: the key is made by the server and travels in the profile, the zero-setup demo) or
   * `scep` (the phone makes its key and gets its certificate at /apple/scep with a one-time challenge).
   */
  identityDelivery?: 'pkcs12' | 'scep';
  /**
   * The certificate (PEM, then its chain) and key that sign enrollment profiles
   * (APPLE_PROFILE_SIGNING_CERT_FILE, APPLE_PROFILE_SIGNING_KEY_FILE): in production the TLS
   * certificate of the public host, which iOS shows as "Verified". Absent: a signing certificate
   * issued by the service's own device CA (iOS shows the profile as not verified).
   */
  profileSigning?: { certPem: string; keyPem: string };
}

export const APPLE_SETTINGS = Symbol('APPLE_SETTINGS');
