import { EXEMPTION_STATUSES } from './exemption.entity';
import { ExemptionAction, nextStatus, TRANSITIONS } from './exemption-lifecycle';

describe('exemption life cycle', () => {
  it('allows exactly the documented transitions', () => {
    const allowed: string[] = [];
    for (const status of EXEMPTION_STATUSES) {
      for (const action of Object.keys(TRANSITIONS) as ExemptionAction[]) {
        const next = nextStatus(status, action);
        if (next) allowed.push(`${status} -${action}-> ${next}`);
      }
    }
    expect(allowed.sort()).toEqual([
      'approved -expire-> expired',
      'approved -revoke-> revoked',
      'pending -approve-> approved',
      'pending -cancel-> cancelled',
      'pending -deny-> denied',
    ]);
  });
  it('has no way out of a final state', () => {
    for (const final of ['denied', 'cancelled', 'revoked', 'expired'] as const) {
      for (const action of Object.keys(TRANSITIONS) as ExemptionAction[]) expect(nextStatus(final, action)).toBeNull();
    }
  });
});
