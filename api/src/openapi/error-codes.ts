import { ANDROID_ERROR_KINDS } from '../android/android.error';
import { APPLE_ERROR_KINDS } from '../apple/apple.error';
import { AUDIT_ERROR_KINDS } from '../audit/audit.error';
import { AUTH_ERROR_KINDS, AuthErrorCode } from '../auth/auth.error';
import { CATALOG_ERROR_KINDS } from '../catalog/catalog.error';
import { COMPLIANCE_ERROR_KINDS } from '../compliance/compliance.error';
import { ErrorKind } from '../common/domain-error';
import { REQUEST_ERROR_KINDS } from '../common/domain-error.filter';
import { DEVICES_ERROR_KINDS } from '../devices/devices.error';
import { DIRECTORY_ERROR_KINDS } from '../directory/directory.error';
import { EXEMPTION_ERROR_KINDS } from '../exemptions/exemption.error';
import { NOTIFICATION_ERROR_KINDS } from '../notifications/notification.error';
import { POLICY_ERROR_KINDS } from '../policies/policy.error';
import { ROLLOUT_ERROR_KINDS } from '../rollout/rollout.error';

/** Every error domain (the prefix of its codes), its codes with their kinds, and its schema's name. */
export const ERROR_DOMAINS = {
  auth: { schema: 'AuthErrorCode', kinds: AUTH_ERROR_KINDS },
  catalog: { schema: 'CatalogErrorCode', kinds: CATALOG_ERROR_KINDS },
  policy: { schema: 'PolicyErrorCode', kinds: POLICY_ERROR_KINDS },
  directory: { schema: 'DirectoryErrorCode', kinds: DIRECTORY_ERROR_KINDS },
  device: { schema: 'DevicesErrorCode', kinds: DEVICES_ERROR_KINDS },
  exemption: { schema: 'ExemptionErrorCode', kinds: EXEMPTION_ERROR_KINDS },
  notification: { schema: 'NotificationErrorCode', kinds: NOTIFICATION_ERROR_KINDS },
  rollout: { schema: 'RolloutErrorCode', kinds: ROLLOUT_ERROR_KINDS },
  compliance: { schema: 'ComplianceErrorCode', kinds: COMPLIANCE_ERROR_KINDS },
  android: { schema: 'AndroidErrorCode', kinds: ANDROID_ERROR_KINDS },
  apple: { schema: 'AppleErrorCode', kinds: APPLE_ERROR_KINDS },
  audit: { schema: 'AuditErrorCode', kinds: AUDIT_ERROR_KINDS },
  request: { schema: 'RequestErrorCode', kinds: REQUEST_ERROR_KINDS },
} satisfies Record<string, { schema: string; kinds: Record<string, ErrorKind> }>;

export type ErrorDomain = keyof typeof ERROR_DOMAINS;

/** What the global guard may answer on any route that requires a signed-in caller. */
export const GUARD_AUTH_CODES: readonly AuthErrorCode[] = [
  'missing-token',
  'malformed-header',
  'invalid-token',
  'session-expired',
  'csrf',
  'forbidden',
  'unknown-organisation',
  'issuer-unreachable',
];

export interface WireCode {
  /** As it appears in an error body: `<domain>.<code>`. */
  code: string;
  kind: ErrorKind;
}

export function codesOf(domain: ErrorDomain, only?: readonly string[]): WireCode[] {
  const kinds: Record<string, ErrorKind> = ERROR_DOMAINS[domain].kinds;
  return Object.entries(kinds)
    .filter(([code]) => !only || only.includes(code))
    .map(([code, kind]) => ({ code: `${domain}.${code}`, kind }));
}
