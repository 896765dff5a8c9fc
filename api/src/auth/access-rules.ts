import { Principal } from './principal';

export const PERMISSIONS = [
  'catalog.read',
  'catalog.write',
  'policy.read',
  'policy.write',
  'effective.read',
  'agent.read',
  'device.read',
  'audit.read',
  'audit.verify',
  'roles.manage',
  /** Asking for an exemption for oneself: what the `agent` role of one's own ministry grants. */
  'exemption.request',
  'exemption.read',
  'exemption.decide',
  'rollout.read',
  'rollout.control',
  'device.manage',
  /** The state's platform credentials (the Apple MDM push certificate): national only. */
  'platform.configure',
  /** Compliance figures: all ministries (null) for national admins, a ministry's own for its IT and digital directorate. */
  'compliance.read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * Who may do what, where. `ministry` is the ministry the target belongs to; null means the
 * national scope (the baseline, the catalog, the whole audit log). Pure, so it is tested alone.
 */
export function can(principal: Principal, permission: Permission, ministry: string | null): boolean {
  const isNational = principal.roles.some((r) => r.role === 'national-admin');
  const holds = (role: string) =>
    ministry !== null && principal.roles.some((r) => r.role === role && r.ministry === ministry);
  const member =
    ministry !== null && (principal.ministry === ministry || principal.roles.some((r) => r.ministry === ministry));

  switch (permission) {
    case 'catalog.read':
      return true;
    case 'catalog.write':
    case 'platform.configure':
    case 'audit.verify':
    case 'roles.manage':
      return isNational;
    case 'policy.read':
      return ministry === null || isNational || member;
    case 'policy.write':
      return ministry === null ? isNational : holds('it-admin');
    case 'device.manage':
      return isNational || holds('it-admin');
    case 'rollout.read':
      return isNational || (ministry === null ? principal.roles.some((r) => r.role === 'it-admin') : holds('it-admin'));
    case 'rollout.control':
      return ministry === null ? isNational : holds('it-admin');
    case 'exemption.read':
      return isNational || holds('approver');
    case 'exemption.decide':
      return holds('approver');
    case 'exemption.request':
      return ministry === principal.ministry && holds('agent');
    case 'compliance.read':
      return isNational || holds('it-admin') || holds('approver');
    case 'effective.read':
    case 'agent.read':
    case 'device.read':
    case 'audit.read':
      return isNational || holds('it-admin') || holds('approver');
  }
}
