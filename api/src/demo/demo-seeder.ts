import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../auth/principal';
import type { Ownership, Platform } from '../devices/device.entity';
import { insertDevice } from '../devices/device-state.service';
import demoUsers from './demo-users.json';

const SEED_ACTOR: Actor = { id: null, label: 'system: demo data' };
/** Extra synthetic agents per ministry, so lists, counts and plans look like a real fleet. */
const SYNTHETIC_AGENTS_PER_MINISTRY = 24;

interface DemoUser {
  sub: string;
  login: string;
  email: string;
  given_name: string;
  usual_name: string;
  roles: { role: string; ministry?: string }[];
}

/**
 * Demo agents (the dev identity provider's users), their roles, and phones. Idempotent: runs at
 * every `npm start` and changes nothing once the data exists.
 */
export async function seedDemoData(
  db: DataSource,
  audit: AuditService,
): Promise<{ created: boolean; agents: number; devices: number }> {
  const [{ count }] = (await db.query(`SELECT count(*)::int AS count FROM agent WHERE sub LIKE 'demo-%'`)) as {
    count: number;
  }[];
  if (count > 0) return { created: false, agents: 0, devices: 0 };
  return db.transaction(async (tx) => {
    const ministries = (await tx.query('SELECT code, email_domains AS domains FROM ministry ORDER BY code')) as {
      code: string;
      domains: string[];
    }[];
    const ministryOf = (email: string) => ministries.find((m) => m.domains.includes(email.split('@')[1]))?.code;
    let agents = 0;
    let devices = 0;
    const addDevice = async (agentId: string, ministry: string, n: number, name: string) => {
      const platform: Platform = n % 3 === 0 ? 'ios' : 'android';
      const ownership: Ownership = n % 7 === 6 ? 'personal' : 'company';
      const model =
        platform === 'ios'
          ? ['iPhone 15', 'iPhone 14', 'iPhone SE'][n % 3]
          : ['Pixel 8', 'Galaxy A55', 'Galaxy S24', 'Crosscall Core-Z5'][n % 4];
      // Seen lately, but no report yet: their compliance is unknown until they send one.
      await insertDevice(tx, {
        platform,
        ownership,
        agentId,
        ministry,
        displayName: `${model} de ${name}`,
        model,
        androidDeviceName:
          platform === 'android' ? `enterprises/demo-${ministry}/devices/${agentId.slice(0, 8)}${n}` : null,
        appleUdid: platform === 'ios' ? `00008110-${agentId.replace(/-/g, '').slice(0, 16).toUpperCase()}${n}` : null,
        lastSeenAt: new Date(Date.now() - n * 17 * 60_000),
      });
      devices++;
    };
    for (const user of demoUsers.users as DemoUser[]) {
      const ministry = ministryOf(user.email);
      if (!ministry || user.roles.length === 0) continue;
      const [{ id }] = (await tx.query(
        `INSERT INTO agent (sub, email, given_name, usual_name, ministry_code) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
        [user.sub, user.email, user.given_name, user.usual_name, ministry],
      )) as { id: string }[];
      agents++;
      for (const role of user.roles) {
        await tx.query(
          `INSERT INTO role_assignment (agent_id, role, ministry_code, granted_by) VALUES ($1, $2, $3, $4)`,
          [id, role.role, role.ministry ?? null, SEED_ACTOR.label],
        );
      }
      await addDevice(id, ministry, agents, `${user.given_name} ${user.usual_name}`);
    }
    for (const { code, domains } of ministries) {
      for (let i = 1; i <= SYNTHETIC_AGENTS_PER_MINISTRY; i++) {
        const [{ id }] = (await tx.query(
          `INSERT INTO agent (sub, email, given_name, usual_name, ministry_code) VALUES ($1, $2, 'Agent', $3, $4) RETURNING id`,
          [`demo-synthetic-${code}-${i}`, `agent${i}@${domains[0]}`, `n°${i}`, code],
        )) as { id: string }[];
        await tx.query(
          `INSERT INTO role_assignment (agent_id, role, ministry_code, granted_by) VALUES ($1, 'agent', $2, $3)`,
          [id, code, SEED_ACTOR.label],
        );
        agents++;
        await addDevice(id, code, i, `l'agent n°${i}`);
      }
    }
    await audit.record(tx, SEED_ACTOR, {
      action: 'demo.seeded',
      entityType: 'demo',
      entityId: 'demo',
      after: { agents, devices },
    });
    return { created: true, agents, devices };
  });
}
