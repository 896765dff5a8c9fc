/** An Android enrollment token as the API shows it: plain types, shared with the admin interface (types only). */
export type PersonalUsage = 'allowed' | 'disallowed' | 'dedicated';

export interface EnrollmentTokenView {
  name: string;
  ministry: string;
  agent: { id: string; email: string } | null;
  personalUsage: PersonalUsage;
  expiresAt: string;
  /** What the phone's setup wizard scans (Google's provisioning JSON). */
  qrCode: string;
  /** The code typed by hand or used in the afw#setup flow. */
  value: string;
}
