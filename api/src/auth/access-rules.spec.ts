import { can, Permission, PERMISSIONS } from './access-rules';
import { Principal, RoleGrant } from './principal';

const principal = (ministry: string, roles: RoleGrant[]): Principal => ({
  agentId: 'a',
  sub: 's',
  email: 'e',
  displayName: 'n',
  ministry,
  roles,
});
const agent = principal('interieur', [{ role: 'agent', ministry: 'interieur' }]);
const approver = principal('interieur', [
  { role: 'agent', ministry: 'interieur' },
  { role: 'approver', ministry: 'interieur' },
]);
const itAdmin = principal('interieur', [
  { role: 'agent', ministry: 'interieur' },
  { role: 'it-admin', ministry: 'interieur' },
]);
const national = principal('spm', [{ role: 'national-admin', ministry: null }]);
/** An approver whose `agent` role was removed: still decides, no longer asks for exemptions. */
const approverNoLongerAgent = principal('interieur', [{ role: 'approver', ministry: 'interieur' }]);

/** Expected grants: [permission, own ministry, other ministry, national scope] per role. */
const matrix: Record<string, Record<Permission, [boolean, boolean, boolean]>> = {
  agent: {
    'catalog.read': [true, true, true],
    'catalog.write': [false, false, false],
    'policy.read': [true, false, true],
    'policy.write': [false, false, false],
    'effective.read': [false, false, false],
    'agent.read': [false, false, false],
    'device.read': [false, false, false],
    'audit.read': [false, false, false],
    'audit.verify': [false, false, false],
    'roles.manage': [false, false, false],
    'exemption.request': [true, false, false],
    'exemption.read': [false, false, false],
    'exemption.decide': [false, false, false],
    'rollout.read': [false, false, false],
    'rollout.control': [false, false, false],
    'device.manage': [false, false, false],
    'platform.configure': [false, false, false],
    'compliance.read': [false, false, false],
  },
  approver: {
    'catalog.read': [true, true, true],
    'catalog.write': [false, false, false],
    'policy.read': [true, false, true],
    'policy.write': [false, false, false],
    'effective.read': [true, false, false],
    'agent.read': [true, false, false],
    'device.read': [true, false, false],
    'audit.read': [true, false, false],
    'audit.verify': [false, false, false],
    'roles.manage': [false, false, false],
    'exemption.request': [true, false, false],
    'exemption.read': [true, false, false],
    'exemption.decide': [true, false, false],
    'rollout.read': [false, false, false],
    'rollout.control': [false, false, false],
    'device.manage': [false, false, false],
    'platform.configure': [false, false, false],
    'compliance.read': [true, false, false],
  },
  itAdmin: {
    'catalog.read': [true, true, true],
    'catalog.write': [false, false, false],
    'policy.read': [true, false, true],
    'policy.write': [true, false, false],
    'effective.read': [true, false, false],
    'agent.read': [true, false, false],
    'device.read': [true, false, false],
    'audit.read': [true, false, false],
    'audit.verify': [false, false, false],
    'roles.manage': [false, false, false],
    'exemption.request': [true, false, false],
    'exemption.read': [false, false, false],
    'exemption.decide': [false, false, false],
    'rollout.read': [true, false, true],
    'rollout.control': [true, false, false],
    'device.manage': [true, false, false],
    'platform.configure': [false, false, false],
    'compliance.read': [true, false, false],
  },
  national: {
    'catalog.read': [true, true, true],
    'catalog.write': [true, true, true],
    'policy.read': [true, true, true],
    'policy.write': [false, false, true],
    'effective.read': [true, true, true],
    'agent.read': [true, true, true],
    'device.read': [true, true, true],
    'audit.read': [true, true, true],
    'audit.verify': [true, true, true],
    'roles.manage': [true, true, true],
    'exemption.request': [false, false, false],
    'exemption.read': [true, true, true],
    'exemption.decide': [false, false, false],
    'rollout.read': [true, true, true],
    'rollout.control': [false, false, true],
    'device.manage': [true, true, true],
    'platform.configure': [true, true, true],
    'compliance.read': [true, true, true],
  },
};
matrix.approverNoLongerAgent = { ...matrix.approver, 'exemption.request': [false, false, false] };
const who = { agent, approver, itAdmin, national, approverNoLongerAgent };

describe('access rules', () => {
  for (const [role, expected] of Object.entries(matrix)) {
    for (const permission of PERMISSIONS) {
      it(`${role} ${permission}: own ministry / other ministry / national`, () => {
        const p = who[role as keyof typeof who];
        expect([can(p, permission, 'interieur'), can(p, permission, 'armees'), can(p, permission, null)]).toEqual(
          expected[permission],
        );
      });
    }
  }
});
