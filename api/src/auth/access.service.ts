import { Injectable } from '@nestjs/common';
import { AuthError } from './auth.error';
import { can, Permission } from './access-rules';
import { Principal } from './principal';

const WHAT: Record<Permission, string> = {
  'catalog.read': 'read the app catalog',
  'catalog.write': 'change the app catalog',
  'policy.read': 'read this policy',
  'policy.write': 'change this policy',
  'effective.read': 'read effective policies',
  'agent.read': 'see this agent',
  'device.read': 'see this device',
  'audit.read': 'read the audit log',
  'audit.verify': 'verify the audit log',
  'roles.manage': 'assign roles',
  'exemption.request': 'ask for an exemption (the agent role of your ministry was removed)',
  'exemption.read': "see the ministry's exemptions",
  'exemption.decide': 'decide on exemption requests',
  'rollout.read': 'follow rollouts',
  'rollout.control': 'pause, resume, advance or abort this rollout',
  'device.manage': 'manage devices',
  'platform.configure': "configure the state's platform credentials",
  'compliance.read': 'see compliance figures',
};

const ANY_MINISTRY = '*';

/** The one access check every service method goes through before touching data. */
@Injectable()
export class AccessService {
  requireAccess(principal: Principal, permission: Permission, ministry: string | null): void {
    if (can(principal, permission, ministry)) return;
    const where = ministry === null ? 'at national level' : `for ministry "${ministry}"`;
    throw AuthError.forbidden(`You are not allowed to ${WHAT[permission]} ${where}.`);
  }

  /** Ministries in which the principal holds `permission`; null = all of them (national admins). */
  ministriesWith(principal: Principal, permission: Permission): string[] | null {
    const nationalAdmin = principal.roles.some((r) => r.role === 'national-admin');
    // A national admin's grant does not depend on which ministry: probe with a code no ministry has.
    if (nationalAdmin && can(principal, permission, ANY_MINISTRY)) return null;
    const candidates = new Set([
      principal.ministry,
      ...principal.roles.map((r) => r.ministry).filter((m): m is string => m !== null),
    ]);
    return [...candidates].filter((m) => can(principal, permission, m));
  }
}
