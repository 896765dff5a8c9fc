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

export interface EnrollmentProfileInput {
  identity: Pkcs12Identity;
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
      {
        PayloadType: 'com.apple.security.pkcs12',
        PayloadVersion: 1,
        PayloadIdentifier: 'fr.gouv.numerique.mdm-apps.identity',
        PayloadUUID: identityUuid,
        PayloadDisplayName: 'Identité de l’appareil',
        PayloadContent: input.identity.p12,
        Password: input.identity.password,
      },
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

export function enrollmentProfileXml(input: EnrollmentProfileInput): string {
  return toPlistXml(enrollmentProfile(input));
}
