import type { JWTPayload } from 'jose';
import { authFailure } from './auth-failure';

/**
 * Identity claims the service reads from a verified token or userinfo answer, under ProConnect's
 * names (`usual_name` for the family name, `uid` and `idp_id` for the person at their identity
 * provider, `siret`/`siren` for their organisation); `family_name` is read from standard providers.
 */
export interface IdentityClaims extends JWTPayload {
  sub: string;
  email?: string;
  email_verified?: boolean;
  given_name?: string;
  usual_name?: string;
  family_name?: string;
  uid?: string;
  idp_id?: string;
  siret?: string;
  siren?: string;
  organizational_unit?: string;
}

/** A person as their identity provider vouched for them, checked and normalised. */
export interface VerifiedIdentity {
  sub: string;
  /** Lower case; '' when the provider gave none. */
  email: string;
  /** Whether the email may reconcile this identity with an agent known through another one. */
  emailVerified: boolean;
  givenName: string;
  usualName: string;
  uid: string | null;
  idpId: string | null;
  siret: string | null;
  siren: string | null;
  organizationalUnit: string | null;
}

const MAX_SUB = 255;
const MAX_TEXT = 320;
/** Lone UTF-16 surrogates: PostgreSQL's jsonb (the audit log) refuses them. */
/** Control characters but tab and line breaks (PostgreSQL text refuses NUL). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A claim PostgreSQL and the audit log can hold: a well-formed string without NUL or other control characters. */
function text(claims: Record<string, unknown>, name: string): string | null {
  const value = claims[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string')
    throw authFailure('invalid-token', `The identity's "${name}" claim is not a string; sign in again.`);
  if (LONE_SURROGATE.test(value) || CONTROL.test(value) || value.length > MAX_TEXT)
    throw authFailure('invalid-token', `The identity's "${name}" claim is malformed; sign in again.`);
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

/**
 * Checks and normalises the claims of a verified token. Refused: no subject, an empty one, one with
 * control characters; an email the provider says is not verified (`email_verified: false`).
 * `emailVerified` says whether the email may reconcile identities (the caller's rule: ProConnect
 * vouches for the professional email it sends; a standard provider must say `email_verified: true`).
 */
export function identityFrom(claims: Record<string, unknown>, emailVerified: boolean): VerifiedIdentity {
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub.trim() === '')
    throw authFailure('invalid-token', 'The identity has no subject ("sub" claim missing or empty): sign in again.');
  // eslint-disable-next-line no-control-regex
  if (sub.length > MAX_SUB || LONE_SURROGATE.test(sub) || /[\u0000-\u001f\u007f]/.test(sub))
    throw authFailure('invalid-token', 'The identity\'s subject ("sub" claim) is malformed.');
  if (claims.email_verified === false || claims.email_verified === 'false')
    throw authFailure(
      'unverified-email',
      'Your identity provider says your email address is not verified: verify it with them, then sign in again.',
    );
  const email = (text(claims, 'email') ?? '').toLowerCase();
  const digits = (value: string | null, length: number) =>
    value !== null && new RegExp(`^\\d{${length}}$`).test(value.replace(/\s/g, '')) ? value.replace(/\s/g, '') : null;
  return {
    sub,
    email,
    emailVerified: emailVerified && email.includes('@'),
    givenName: text(claims, 'given_name') ?? '',
    usualName: text(claims, 'usual_name') ?? text(claims, 'family_name') ?? '',
    uid: text(claims, 'uid'),
    idpId: text(claims, 'idp_id'),
    siret: digits(text(claims, 'siret'), 14),
    siren: digits(text(claims, 'siren'), 9),
    organizationalUnit: text(claims, 'organizational_unit'),
  };
}
