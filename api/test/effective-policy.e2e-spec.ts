import { startTestApp, TestApp } from './support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

interface EffectiveApp {
  app: string;
  action: string;
  exemptable: boolean;
  legalBasis: string[];
  liftedBy?: { id: string; validUntil: string };
}
interface Effective {
  mode: string;
  ministry: string;
  apps: EffectiveApp[];
  exemptedApps: string[];
  hash: string;
}

const entry = (policy: Effective, app: string) => policy.apps.find((a) => a.app === app);

async function agentId(login: string): Promise<string> {
  return (await (await t.as(login)).get('/me').expect(200)).body.id;
}

/** Exemptions are decided by the exemption workflow; here one is written as its result would be. */
async function grantExemption(
  agent: string,
  app: string,
  days: number,
  deviceId: string | null = null,
): Promise<string> {
  const [{ id }] = await t.db.query(
    `INSERT INTO exemption (agent_id, ministry_code, app_slug, device_id, justification, requested_days, status, valid_from, valid_until)
     SELECT id, ministry_code, $2, $3, 'Compte institutionnel', $4::int, 'approved', now(), now() + make_interval(days => $4::int) FROM agent WHERE id = $1 RETURNING id`,
    [agent, app, deviceId, days],
  );
  return id;
}

describe('effective policy', () => {
  it("of a ministry: the baseline plus the ministry's own rules, with legal bases", async () => {
    const res = await (await t.as('it.interieur')).get('/ministries/interieur/effective-policy').expect(200);
    const policy = res.body as Effective;
    expect(policy).toMatchObject({ mode: 'blocklist', ministry: 'interieur', exemptedApps: [] });
    expect(entry(policy, 'tiktok')).toMatchObject({ action: 'block', exemptable: true });
    expect(entry(policy, 'tiktok')?.legalBasis[0]).toContain('24 mars 2023');
    expect(entry(policy, 'tchap')).toMatchObject({ action: 'require' });
    expect(entry(policy, 'dropbox')).toMatchObject({ action: 'block', origins: ['ministry'] });
    // Culture does not block Dropbox: the ministry rule is Interior's alone.
    const culture = (await (await t.as('it.culture')).get('/ministries/culture/effective-policy').expect(200))
      .body as Effective;
    expect(entry(culture, 'dropbox')).toBeUndefined();
  });

  it('of an allowlist ministry lists what is allowed and required', async () => {
    const policy = (await (await t.as('agent.armees')).get('/ministries/armees/effective-policy').expect(200))
      .body as Effective;
    expect(policy.mode).toBe('allowlist');
    expect(entry(policy, 'microsoft-outlook')).toMatchObject({ action: 'allow' });
    expect(entry(policy, 'visio')).toMatchObject({ action: 'require', web: 'https://visio.numerique.gouv.fr' });
  });

  it("is refused for another ministry's people", async () => {
    await (await t.as('it.interieur')).get('/ministries/armees/effective-policy').expect(403);
    const me = await agentId('agent.armees');
    await (await t.as('approver.interieur')).get(`/agents/${me}/effective-policy`).expect(403);
    await (await t.as('agent.interieur')).get(`/agents/${me}/effective-policy`).expect(403);
  });

  it('of an agent: an approved exemption lifts an exemptable block for that agent only, never a non-exemptable one', async () => {
    const lea = await agentId('presse.interieur');
    const before = (await (await t.as('presse.interieur')).get('/agents/me/effective-policy').expect(200))
      .body as Effective;
    expect(entry(before, 'x')?.action).toBe('block');

    const exemption = await grantExemption(lea, 'x', 180);
    await grantExemption(lea, 'netflix', 30); // streaming is not exemptable: must stay blocked
    const after = (await (await t.as('presse.interieur')).get('/agents/me/effective-policy').expect(200))
      .body as Effective;
    expect(entry(after, 'x')).toMatchObject({ action: 'allow', liftedBy: { id: exemption } });
    expect(entry(after, 'netflix')?.action).toBe('block');
    expect(after.exemptedApps).toEqual(['x']);
    expect(after.hash).not.toBe(before.hash);

    // Her approver sees the same; a colleague's policy is unchanged.
    const seen = (await (await t.as('approver.interieur')).get(`/agents/${lea}/effective-policy`).expect(200))
      .body as Effective;
    expect(seen.hash).toBe(after.hash);
    const colleague = (await (await t.as('agent.interieur')).get('/agents/me/effective-policy').expect(200))
      .body as Effective;
    expect(entry(colleague, 'x')?.action).toBe('block');
    expect(colleague.hash).toBe(before.hash);

    // Once expired, the block is back.
    await t.db.query(`UPDATE exemption SET valid_until = now() - interval '1 minute' WHERE id = $1`, [exemption]);
    const expired = (await (await t.as('presse.interieur')).get('/agents/me/effective-policy').expect(200))
      .body as Effective;
    expect(entry(expired, 'x')?.action).toBe('block');
    expect(expired.hash).toBe(before.hash);
  });

  it('of a device: device-scoped exemptions apply to that device only', async () => {
    const camille = await agentId('agent.interieur');
    const [phone] = (await (await t.as('agent.interieur')).get('/me/devices').expect(200)).body as { id: string }[];
    const [other] = await t.db.query(
      `INSERT INTO device (platform, ownership, agent_id, ministry_code, display_name) VALUES ('ios', 'company', $1, 'interieur', 'Second iPhone') RETURNING id`,
      [camille],
    );
    await grantExemption(camille, 'zoom', 30, phone.id);
    const onPhone = (await (await t.as('agent.interieur')).get(`/devices/${phone.id}/effective-policy`).expect(200))
      .body as Effective & { deviceId: string };
    const onOther = (await (await t.as('agent.interieur')).get(`/devices/${other.id}/effective-policy`).expect(200))
      .body as Effective;
    expect(onPhone.deviceId).toBe(phone.id);
    expect(entry(onPhone, 'zoom')?.action).toBe('allow');
    expect(entry(onOther, 'zoom')?.action).toBe('block');
    // The agent-wide view does not include a single device's exemption.
    const agentWide = (await (await t.as('agent.interieur')).get('/agents/me/effective-policy').expect(200))
      .body as Effective;
    expect(entry(agentWide, 'zoom')?.action).toBe('block');

    await (await t.as('it.interieur')).get(`/devices/${phone.id}/effective-policy`).expect(200);
    await (await t.as('it.armees')).get(`/devices/${phone.id}/effective-policy`).expect(403);
    await (
      await t.as('agent.interieur')
    )
      .get('/devices/00000000-0000-0000-0000-000000000000/effective-policy')
      .expect(404);
    await (await t.as('agent.interieur')).get('/devices/not-a-uuid/effective-policy').expect(404);
  });
});

describe('devices and directory', () => {
  it("lists a ministry's devices for its IT, not for another ministry nor a plain agent", async () => {
    const list = await (await t.as('it.culture')).get('/ministries/culture/devices?limit=5').expect(200);
    expect(list.body.items).toHaveLength(5);
    expect(list.body.total).toBeGreaterThan(20);
    expect(list.body.items.every((d: { ministryCode: string }) => d.ministryCode === 'culture')).toBe(true);
    await (await t.as('it.interieur')).get('/ministries/culture/devices').expect(403);
    await (await t.as('agent.culture')).get('/ministries/culture/devices').expect(403);
    await (await t.as('it.culture')).get('/ministries/culture/devices?limit=9999').expect(400);
  });

  it('lets national admins grant and revoke roles, audited; nobody else', async () => {
    const emma = await agentId('agent.culture');
    await (
      await t.as('it.culture')
    )
      .post(`/agents/${emma}/roles`)
      .send({ role: 'approver', ministry: 'culture' })
      .expect(403);
    const admin = await t.as('admin.national');
    const granted = await admin
      .post(`/agents/${emma}/roles`)
      .send({ role: 'approver', ministry: 'culture' })
      .expect(201);
    const assignment = granted.body.roles.find((r: { role: string }) => r.role === 'approver');
    expect(assignment).toMatchObject({ ministry: 'culture' });
    await admin.post(`/agents/${emma}/roles`).send({ role: 'approver', ministry: 'culture' }).expect(409);
    await admin.post(`/agents/${emma}/roles`).send({ role: 'national-admin', ministry: 'culture' }).expect(400);
    await admin.post(`/agents/${emma}/roles`).send({ role: 'pope', ministry: 'culture' }).expect(400);
    await admin.post(`/agents/${emma}/roles`).send({ role: 'approver', ministry: 'atlantis' }).expect(404);
    // The new approver can now read her ministry's agents.
    await (await t.as('agent.culture')).get('/ministries/culture/agents').expect(200);
    await admin.delete(`/agents/${emma}/roles/${assignment.id}`).expect(200);
    await (await t.as('agent.culture')).get('/ministries/culture/agents').expect(403);
    const actions = (await t.db.query(`SELECT action FROM audit_event WHERE entity_id = $1 ORDER BY seq`, [emma])).map(
      (r: { action: string }) => r.action,
    );
    expect(actions).toEqual(['role.granted', 'role.revoked']);
  });
});
