import { randomUUID } from 'node:crypto';
import { PlistDict, toPlistXml } from './apple-payloads';

/** Every MDM right (query, install/remove profiles and apps, restrictions…): 8191. */
const ACCESS_RIGHTS = 8191;

/** The enrollment profile's identifier: a renewal reinstalls a profile with this same identifier. */
export const ENROLLMENT_PROFILE_IDENTIFIER = 'fr.gouv.numerique.mdm-apps.enrollment';

/** The device identity carried by the profile: a PKCS#12 made by the server (the zero-setup path). */
export interface Pkcs12Identity {
  kind: 'pkcs12';
  p12: Buffer;
  password: string;
}

/**
 * The device identity obtained by the phone over SCEP (RFC 8894): it generates its key, which
 * never leaves it, and trades the one-time challenge for its certificate at `url`.
 */
export interface ScepIdentity {
  kind: 'scep';
  /** The SCEP endpoint (the phone adds `?operation=…`). */
  url: string;
  /** One-time challenge password, bound to the enrollment. */
  challenge: string;
  /** The common name the phone puts in its request. */
  commonName: string;
}

export interface EnrollmentProfileInput {
  identity: Pkcs12Identity | ScepIdentity;
  /** The APNs topic of the active push certificate. */
  topic: string;
  /** The service's public base URL (no trailing slash). */
  serverBaseUrl: string;
}

/**
 * The enrollment profile as a property list: the device identity and the MDM payload pointing at
 * this server. Every enrollment path (links, ADE, identity renewal) builds it here so they cannot drift.
 */
export function enrollmentProfile(input: EnrollmentProfileInput): PlistDict {
  const identityUuid = randomUUID().toUpperCase();
  return {
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: ENROLLMENT_PROFILE_IDENTIFIER,
    PayloadUUID: randomUUID().toUpperCase(),
    PayloadDisplayName: 'Téléphone professionnel — inscription',
    PayloadOrganization: 'État',
    PayloadContent: [
      identityPayload(input.identity, identityUuid),
      {
        PayloadType: 'com.apple.mdm',
        PayloadVersion: 1,
        PayloadIdentifier: 'fr.gouv.numerique.mdm-apps.mdm',
        PayloadUUID: randomUUID().toUpperCase(),
        PayloadDisplayName: 'Gestion des applications',
        ServerURL: `${input.serverBaseUrl}/mdm/server`,
        CheckInURL: `${input.serverBaseUrl}/mdm/checkin`,
        Topic: input.topic,
        IdentityCertificateUUID: identityUuid,
        SignMessage: true,
        AccessRights: ACCESS_RIGHTS,
        CheckOutWhenRemoved: true,
        ServerCapabilities: ['com.apple.mdm.per-user-connections'],
      },
    ],
  };
}

/** SCEP "Key Usage": signing (1) and encryption (4), as the certificate the CA issues. */
const SCEP_KEY_USAGE = 5;

function identityPayload(identity: Pkcs12Identity | ScepIdentity, uuid: string): PlistDict {
  const common = {
    PayloadVersion: 1,
    PayloadIdentifier: 'fr.gouv.numerique.mdm-apps.identity',
    PayloadUUID: uuid,
    PayloadDisplayName: 'Identité de l’appareil',
  };
  if (identity.kind === 'pkcs12')
    return {
      PayloadType: 'com.apple.security.pkcs12',
      ...common,
      PayloadContent: identity.p12,
      Password: identity.password,
    };
  // Keys as in Apple's schema (device-management mdm/profiles/com.apple.security.scep.yaml).
  return {
    PayloadType: 'com.apple.security.scep',
    ...common,
    PayloadContent: {
      URL: identity.url,
      Name: 'mdm-apps-etat',
      Subject: [[['CN', identity.commonName]]],
      Challenge: identity.challenge,
      Keysize: 2048,
      'Key Type': 'RSA',
      'Key Usage': SCEP_KEY_USAGE,
    },
  };
}

export function enrollmentProfileXml(input: EnrollmentProfileInput): string {
  return toPlistXml(enrollmentProfile(input));
}
