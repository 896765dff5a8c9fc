import { DomainError, ErrorKind } from '../common/domain-error';

export type AppleErrorCode =
  | 'invalid-certificate'
  | 'not-mdm-push-certificate'
  | 'key-mismatch'
  | 'expired'
  | 'topic-changed'
  | 'no-push-certificate'
  | 'unknown-agent'
  | 'unknown-enrollment'
  | 'enrollment-expired'
  | 'enrollment-revoked'
  | 'enrollment-used'
  | 'invalid-link'
  | 'identity-revoked'
  | 'no-identity'
  | 'bad-signature'
  | 'unknown-identity'
  | 'udid-mismatch'
  | 'udid-enrolled'
  | 'empty-body'
  | 'malformed-plist'
  | 'malformed-checkin'
  | 'unsupported-checkin'
  | 'not-authenticated'
  | 'malformed-report'
  | 'not-enrolled'
  | 'too-many-messages'
  | 'abm-no-certificate'
  | 'abm-token-invalid'
  | 'abm-token-wrong-certificate'
  | 'abm-token-expired'
  | 'abm-no-token'
  | 'abm-refused'
  | 'abm-unavailable'
  | 'abm-unknown-device'
  | 'vpp-token-invalid'
  | 'vpp-no-token'
  | 'vpp-unknown-asset'
  | 'vpp-refused'
  | 'vpp-unavailable'
  | 'out-of-licences'
  | 'unknown-ministry'
  | 'abm-sync-running'
  | 'unsupported-device'
  | 'wrong-topic'
  | 'not-configured'
  | 'scep-malformed'
  | 'scep-unknown-operation'
  | 'scep-too-large';

/** The kind (hence HTTP status) each code is thrown with. */
export const APPLE_ERROR_KINDS: Record<AppleErrorCode, ErrorKind> = {
  'invalid-certificate': 'invalid',
  'not-mdm-push-certificate': 'invalid',
  'key-mismatch': 'invalid',
  expired: 'invalid',
  'topic-changed': 'conflict',
  'no-push-certificate': 'conflict',
  'unknown-agent': 'not-found',
  'unknown-enrollment': 'not-found',
  'enrollment-expired': 'conflict',
  'enrollment-revoked': 'conflict',
  'enrollment-used': 'conflict',
  'invalid-link': 'invalid',
  'identity-revoked': 'forbidden',
  'no-identity': 'unauthenticated',
  'bad-signature': 'unauthenticated',
  'unknown-identity': 'forbidden',
  'udid-mismatch': 'forbidden',
  'udid-enrolled': 'conflict',
  'empty-body': 'invalid',
  'malformed-plist': 'invalid',
  'malformed-checkin': 'invalid',
  'unsupported-checkin': 'invalid',
  'not-authenticated': 'conflict',
  'malformed-report': 'invalid',
  'not-enrolled': 'conflict',
  'too-many-messages': 'too-many-requests',
  'abm-no-certificate': 'conflict',
  'abm-token-invalid': 'invalid',
  'abm-token-wrong-certificate': 'invalid',
  'abm-token-expired': 'invalid',
  'abm-no-token': 'conflict',
  'abm-refused': 'conflict',
  'abm-unavailable': 'unavailable',
  'abm-unknown-device': 'forbidden',
  'vpp-token-invalid': 'invalid',
  'vpp-no-token': 'conflict',
  'vpp-unknown-asset': 'not-found',
  'vpp-refused': 'conflict',
  'vpp-unavailable': 'unavailable',
  'out-of-licences': 'conflict',
  'unknown-ministry': 'not-found',
  'abm-sync-running': 'conflict',
  'unsupported-device': 'forbidden',
  'wrong-topic': 'forbidden',
  // This server runs without the Apple MDM server (APPLE_MDM off).
  'not-configured': 'conflict',
  // SCEP: what is not a SCEP request at all (a request that is one gets a CertRep FAILURE instead).
  'scep-malformed': 'invalid',
  'scep-unknown-operation': 'invalid',
  'scep-too-large': 'too-large',
};

export class AppleError extends DomainError<AppleErrorCode> {
  readonly domain = 'apple';
  constructor(code: AppleErrorCode, kind: ErrorKind, message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}
