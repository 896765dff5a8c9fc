import { AppleIdentityRenewalService } from '../../src/apple/identity-renewal/apple-identity-renewal.service';
import type { SimulatedIPhone } from '../../../tools/apple-sim/device-simulator';
import type { AppleTestbed } from './apple-testbed';
import { drainRolloutJobs } from './drain-jobs';

/**
 * What the identity-renewal specs (PKCS#12 and SCEP) do to phones and read back, bound to the
 * spec's testbed (a getter: it is started in beforeAll).
 */
export function renewalKit(bed: () => AppleTestbed) {
  const phones: SimulatedIPhone[] = [];
  const t = () => bed().t;

  async function agentId(sub: string): Promise<string> {
    return (await t().db.query(`SELECT id FROM agent WHERE sub = $1`, [sub]))[0].id;
  }

  async function converge(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await drainRolloutJobs(t());
      for (const phone of phones) await phone.poll();
    }
  }

  return {
    phones,
    agentId,
    converge,

    /** An enrollment link of interieur's IT for the agent, and the profile it serves (signed DER). */
    async linkProfile(agentSub: string): Promise<Buffer> {
      const link = await (
        await t().as('it.interieur')
      )
        .post('/ministries/interieur/apple/enrollment-links')
        .send({ agentId: await agentId(agentSub), expiresInHours: 24 })
        .expect(201);
      return Buffer.from(await (await fetch(link.body.url)).arrayBuffer());
    },

    /** A phone that installed its enrollment profile: enrolled, woken by the fake APNs, converged. */
    async enrolled(phone: SimulatedIPhone): Promise<SimulatedIPhone> {
      phone.connectTo(bed().apns);
      await phone.enroll();
      phones.push(phone);
      await converge();
      return phone;
    },

    renewal(): AppleIdentityRenewalService {
      return t().app.get(AppleIdentityRenewalService);
    },

    async identityOf(phone: SimulatedIPhone): Promise<{ device: string; serial: string }> {
      const [row] = await t().db.query(`SELECT id, apple_identity_serial FROM device WHERE apple_udid = $1`, [
        phone.udid,
      ]);
      return { device: row.id, serial: row.apple_identity_serial };
    },

    /** The identity lapses in `days` (as if it had been issued two years minus that ago). */
    async expiresIn(serial: string, days: number): Promise<void> {
      await t().db.query(`UPDATE apple_identity SET not_after = now() + make_interval(days => $2) WHERE serial = $1`, [
        serial,
        days,
      ]);
    },

    async auditOf(device: string): Promise<{ action: string; after: Record<string, unknown> }[]> {
      const res = await (await t().as('admin.national')).get(`/audit?entityType=device&entityId=${device}`).expect(200);
      return res.body;
    },

    dispose(): void {
      for (const phone of phones) phone.dispose();
    },
  };
}
