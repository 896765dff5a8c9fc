import { ExemptionSchedulerService } from '../src/exemptions/exemption-scheduler.service';
import { countRows, startTestApp, TestApp } from './support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const JUSTIFICATION = "J'anime le compte X officiel du ministère pour la communication de crise.";

async function me(login: string): Promise<{ id: string }> {
  return (await (await t.as(login)).get('/me').expect(200)).body;
}

async function effectiveAction(login: string, app: string): Promise<string | undefined> {
  const res = await (await t.as(login)).get('/agents/me/effective-policy').expect(200);
  return res.body.apps.find((a: { app: string }) => a.app === app)?.action;
}

async function writes() {
  return {
    exemptions: await countRows(t.db, 'exemption'),
    audit: await countRows(t.db, 'audit_event'),
    notifications: await countRows(t.db, 'notification'),
  };
}

async function pushJobs(): Promise<{ deviceIds: string[]; reason: string }[]> {
  return (
    await t.db.query(
      `SELECT data FROM pgboss.job WHERE name = 'rollout.push' AND data ? 'reason' AND data->>'reason' <> 'first policy' ORDER BY created_on`,
    )
  ).map((r: { data: { deviceIds: string[]; reason: string } }) => r.data);
}

async function request(login: string, body: object) {
  return (await t.as(login)).post('/exemptions').send(body);
}

describe('requesting an exemption', () => {
  it.each([
    [
      'an app that is not blocked for them',
      { app: 'microsoft-outlook', justification: JUSTIFICATION, days: 30 },
      400,
      'exemption.not-blocked',
      'is not blocked for you',
    ],
    [
      'a block that allows no exemption',
      { app: 'netflix', justification: JUSTIFICATION, days: 30 },
      400,
      'exemption.not-exemptable',
      '24 mars 2023',
    ],
    [
      'a period longer than the rule allows',
      { app: 'zoom', justification: JUSTIFICATION, days: 120 },
      400,
      'exemption.period-too-long',
      'the 90 days the rule allows',
    ],
    [
      'an unknown app',
      { app: 'tiktokk', justification: JUSTIFICATION, days: 30 },
      404,
      'exemption.unknown-app',
      'not in the catalog',
    ],
    [
      'a justification that says nothing',
      { app: 'x', justification: 'besoin', days: 30 },
      400,
      'request.invalid',
      'at least 20 characters',
    ],
    [
      'a period that is not a number',
      { app: 'x', justification: JUSTIFICATION, days: 'six mois' },
      400,
      'request.invalid',
      'whole number of days',
    ],
  ])('is refused for %s, with a clear message and nothing written', async (_n, body, status, code, message) => {
    const before = await writes();
    const res = await request('presse.interieur', body);
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    expect(res.body.message).toContain(message);
    expect(await writes()).toEqual(before);
  });

  it("is refused for someone else's device, with nothing written", async () => {
    const [colleagueDevice] = await t.db.query(
      `SELECT d.id FROM device d JOIN agent a ON a.id = d.agent_id WHERE a.sub = 'demo-agent-interieur'`,
    );
    const before = await writes();
    const res = await request('presse.interieur', {
      app: 'x',
      justification: JUSTIFICATION,
      days: 30,
      deviceId: colleagueDevice.id,
    });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'exemption.unknown-device', message: 'This device is not one of yours.' });
    expect(await writes()).toEqual(before);
  });

  it('creates a pending request, audited, and refuses a second one for the same app', async () => {
    const res = await request('presse.interieur', { app: 'x', justification: JUSTIFICATION, days: 180 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: 'pending',
      ministry: 'interieur',
      app: { slug: 'x', name: 'X (Twitter)' },
      requestedDays: 180,
      device: null,
    });
    const [event] = await t.db.query(`SELECT action, entity_id FROM audit_event ORDER BY seq DESC LIMIT 1`);
    expect(event).toEqual({ action: 'exemption.requested', entity_id: res.body.id });
    const again = await request('presse.interieur', { app: 'x', justification: JUSTIFICATION, days: 30 });
    expect(again.status).toBe(409);
    expect(again.body.message).toContain('already have a pending request');
    const mine = await (await t.as('presse.interieur')).get('/me/exemptions').expect(200);
    expect(mine.body.map((e: { id: string }) => e.id)).toContain(res.body.id);
  });
});

describe('deciding', () => {
  it("shows the approvers of the agent's ministry a queue, oldest first, and nobody else", async () => {
    const a = await request('agent.interieur', { app: 'instagram', justification: JUSTIFICATION, days: 30 });
    const b = await request('agent.interieur', { app: 'facebook', justification: JUSTIFICATION, days: 30 });
    await t.db.query(`UPDATE exemption SET requested_at = now() - interval '3 days' WHERE id = $1`, [b.body.id]);
    const queue = await (await t.as('approver.interieur')).get('/ministries/interieur/exemptions').expect(200);
    const ids = queue.body.items.map((e: { id: string }) => e.id);
    expect(ids.indexOf(b.body.id)).toBeLessThan(ids.indexOf(a.body.id));
    expect(queue.body.items[0]).toMatchObject({
      justification: expect.any(String),
      agent: { email: expect.stringContaining('@interieur.gouv.fr') },
    });
    const filtered = await (
      await t.as('approver.interieur')
    )
      .get('/ministries/interieur/exemptions?app=facebook&minAgeDays=2')
      .expect(200);
    expect(filtered.body.items.map((e: { id: string }) => e.id)).toEqual([b.body.id]);

    // National admins read everything, decide nothing; other ministries and IT see nothing.
    await (await t.as('admin.national')).get('/ministries/interieur/exemptions').expect(200);
    await (await t.as('admin.national')).post(`/exemptions/${a.body.id}/approve`).send({}).expect(403);
    await (await t.as('approver.armees')).get('/ministries/interieur/exemptions').expect(403);
    await (await t.as('approver.armees')).get(`/exemptions/${a.body.id}`).expect(403);
    await (await t.as('approver.armees')).post(`/exemptions/${a.body.id}/approve`).send({}).expect(403);
    await (await t.as('it.interieur')).get('/ministries/interieur/exemptions').expect(403);
    await (await t.as('agent.interieur')).get('/ministries/interieur/exemptions').expect(403);
    await (await t.as('approver.interieur')).get('/ministries/interieur/exemptions?status=lost').expect(400);
  });

  it('refuses that an approver decides on their own request', async () => {
    const own = await request('approver.interieur', { app: 'snapchat', justification: JUSTIFICATION, days: 30 });
    expect(own.status).toBe(201);
    const res = await (
      await t.as('approver.interieur')
    )
      .post(`/exemptions/${own.body.id}/approve`)
      .send({})
      .expect(403);
    expect(res.body.code).toBe('exemption.self-decision');
  });

  it('approves with a shorter period: the effective policy of the agent changes and the push is queued in the same transaction', async () => {
    const lea = await me('presse.interieur');
    expect(await effectiveAction('presse.interieur', 'x')).toBe('block');
    const [pending] = await t.db.query(
      `SELECT id FROM exemption WHERE agent_id = $1 AND app_slug = 'x' AND status = 'pending'`,
      [lea.id],
    );
    const jobsBefore = (await pushJobs()).length;
    await (await t.as('approver.interieur')).post(`/exemptions/${pending.id}/approve`).send({ days: 200 }).expect(400);
    const res = await (
      await t.as('approver.interieur')
    )
      .post(`/exemptions/${pending.id}/approve`)
      .send({ days: 90, reason: 'Compte officiel' })
      .expect(200);
    expect(res.body).toMatchObject({
      status: 'approved',
      approvedDays: 90,
      decidedBy: { displayName: 'Nadia Benali' },
      decisionReason: 'Compte officiel',
    });
    const days = (new Date(res.body.validUntil).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThan(90.1);

    expect(await effectiveAction('presse.interieur', 'x')).toBe('allow');
    expect(await effectiveAction('agent.interieur', 'x')).toBe('block');
    const devices = await t.db.query(`SELECT id FROM device WHERE agent_id = $1`, [lea.id]);
    const effective = (
      await (await t.as('presse.interieur')).get(`/devices/${devices[0].id}/effective-policy`).expect(200)
    ).body;
    const device = (await (await t.as('presse.interieur')).get(`/devices/${devices[0].id}`).expect(200)).body;
    expect(device.desiredHash).toBe(effective.hash);
    expect(device.converged).toBe(false);
    const jobs = await pushJobs();
    expect(jobs).toHaveLength(jobsBefore + 1);
    expect(jobs[jobs.length - 1]).toEqual({
      deviceIds: devices.map((d: { id: string }) => d.id),
      reason: `exemption ${pending.id} approved`,
    });
    const [note] = await t.db.query(
      `SELECT kind, title FROM notification WHERE agent_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [lea.id],
    );
    expect(note).toEqual({ kind: 'exemption.approved', title: 'Dérogation accordée : X (Twitter)' });
    const [emailJob] = await t.db.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'notifications.email'`);
    expect(emailJob.n).toBeGreaterThan(0);

    const again = await (
      await t.as('approver.interieur')
    )
      .post(`/exemptions/${pending.id}/approve`)
      .send({})
      .expect(409);
    expect(again.body.message).toContain('accordée (approved)');
    expect(again.body.details).toEqual({ status: 'approved' });
    await (
      await t.as('approver.interieur')
    )
      .post(`/exemptions/${pending.id}/deny`)
      .send({ reason: 'Trop tard' })
      .expect(409);
    await (await t.as('presse.interieur')).post(`/exemptions/${pending.id}/cancel`).expect(409);
  });

  it('denies with a required reason, and lets the agent cancel only their own pending request', async () => {
    const req = await request('agent.interieur', { app: 'reddit', justification: JUSTIFICATION, days: 30 });
    const approver = await t.as('approver.interieur');
    const noReason = await approver.post(`/exemptions/${req.body.id}/deny`).send({}).expect(400);
    expect(noReason.body.message).toContain('reason');
    const denied = await approver
      .post(`/exemptions/${req.body.id}/deny`)
      .send({ reason: 'Aucun besoin institutionnel' })
      .expect(200);
    expect(denied.body).toMatchObject({ status: 'denied', decisionReason: 'Aucun besoin institutionnel' });

    const other = await request('agent.interieur', { app: 'pinterest', justification: JUSTIFICATION, days: 30 });
    await (await t.as('presse.interieur')).post(`/exemptions/${other.body.id}/cancel`).expect(403);
    const cancelled = await (await t.as('agent.interieur')).post(`/exemptions/${other.body.id}/cancel`).expect(200);
    expect(cancelled.body.status).toBe('cancelled');
    await (await t.as('agent.interieur')).post('/exemptions/not-an-id/cancel').expect(404);
  });

  it('lets exactly one of two concurrent decisions win; the other gets 409 with the current state', async () => {
    const it = await me('it.interieur');
    await t.db.query(
      `INSERT INTO role_assignment (agent_id, role, ministry_code, granted_by) VALUES ($1, 'approver', 'interieur', 'test')`,
      [it.id],
    );
    for (let round = 0; round < 5; round++) {
      const req = await request('agent.interieur', { app: 'threads', justification: JUSTIFICATION, days: 10 });
      expect(req.status).toBe(201);
      const [approve, deny] = await Promise.all([
        (await t.as('approver.interieur')).post(`/exemptions/${req.body.id}/approve`).send({}),
        (await t.as('it.interieur')).post(`/exemptions/${req.body.id}/deny`).send({ reason: 'Refus concurrent' }),
      ]);
      expect([approve.status, deny.status].sort()).toEqual([200, 409]);
      const loser = approve.status === 409 ? approve : deny;
      const [{ status }] = await t.db.query(`SELECT status FROM exemption WHERE id = $1`, [req.body.id]);
      expect(loser.body.details).toEqual({ status });
      const decisions = await t.db.query(
        `SELECT count(*)::int AS n FROM audit_event WHERE entity_id = $1 AND action IN ('exemption.approved', 'exemption.denied')`,
        [req.body.id],
      );
      expect(decisions[0].n).toBe(1);
      if (status === 'approved')
        await (
          await t.as('approver.interieur')
        )
          .post(`/exemptions/${req.body.id}/revoke`)
          .send({ reason: 'Fin du test' })
          .expect(200);
    }
  });

  it('revokes an active exemption: the block is back', async () => {
    const req = await request('agent.culture', { app: 'tiktok', justification: JUSTIFICATION, days: 30 });
    await (await t.as('approver.culture')).post(`/exemptions/${req.body.id}/approve`).send({}).expect(200);
    expect(await effectiveAction('agent.culture', 'tiktok')).toBe('allow');
    await (await t.as('approver.culture')).post(`/exemptions/${req.body.id}/revoke`).send({}).expect(400);
    const revoked = await (
      await t.as('approver.culture')
    )
      .post(`/exemptions/${req.body.id}/revoke`)
      .send({ reason: 'Compte fermé' })
      .expect(200);
    expect(revoked.body.status).toBe('revoked');
    expect(await effectiveAction('agent.culture', 'tiktok')).toBe('block');
    await (
      await t.as('approver.culture')
    )
      .post(`/exemptions/${req.body.id}/revoke`)
      .send({ reason: 'Encore' })
      .expect(409);
  });
});

describe('every refused transition', () => {
  it('answers 409 with the current state for each action a state does not allow, and writes nothing', async () => {
    const approver = await t.as('approver.culture');
    const agent = await t.as('agent.culture');
    const make = async (app: string) =>
      (await request('agent.culture', { app, justification: JUSTIFICATION, days: 10 })).body.id as string;
    const states: Record<string, string> = {};
    states.approved = await make('instagram');
    await approver.post(`/exemptions/${states.approved}/approve`).send({}).expect(200);
    states.denied = await make('facebook');
    await approver.post(`/exemptions/${states.denied}/deny`).send({ reason: 'Pas de besoin' }).expect(200);
    states.cancelled = await make('snapchat');
    await agent.post(`/exemptions/${states.cancelled}/cancel`).expect(200);
    states.revoked = await make('reddit');
    await approver.post(`/exemptions/${states.revoked}/approve`).send({}).expect(200);
    await approver.post(`/exemptions/${states.revoked}/revoke`).send({ reason: 'Fin de mission' }).expect(200);
    states.pending = await make('threads');

    const actions = {
      approve: (id: string) => approver.post(`/exemptions/${id}/approve`).send({}),
      deny: (id: string) => approver.post(`/exemptions/${id}/deny`).send({ reason: 'Refus de test' }),
      cancel: (id: string) => agent.post(`/exemptions/${id}/cancel`),
      revoke: (id: string) => approver.post(`/exemptions/${id}/revoke`).send({ reason: 'Révocation de test' }),
    };
    const allowed = new Set(['pending:approve', 'pending:deny', 'pending:cancel', 'approved:revoke']);
    const before = await writes();
    for (const [state, id] of Object.entries(states)) {
      for (const [action, run] of Object.entries(actions)) {
        if (allowed.has(`${state}:${action}`)) continue;
        const res = await run(id);
        expect({ state, action, status: res.status, details: res.body.details }).toEqual({
          state,
          action,
          status: 409,
          details: { status: state },
        });
      }
    }
    expect(await writes()).toEqual(before);
  });
});

describe('expiry, reminders, renewal, digest, register', () => {
  it('expires an exemption at the end of its period and re-bans the app', async () => {
    const req = await request('agent.economie', { app: 'whatsapp', justification: JUSTIFICATION, days: 30 });
    const ok = await (await t.as('approver.economie')).post(`/exemptions/${req.body.id}/approve`).send({}).expect(200);
    expect(ok.body.status).toBe('approved');
    expect(await effectiveAction('agent.economie', 'whatsapp')).toBe('allow');
    await t.db.query(`UPDATE exemption SET valid_until = now() - interval '1 second' WHERE id = $1`, [req.body.id]);
    expect(await t.app.get(ExemptionSchedulerService).expireDue()).toBe(1);
    const view = await (await t.as('agent.economie')).get(`/exemptions/${req.body.id}`).expect(200);
    expect(view.body.status).toBe('expired');
    expect(await effectiveAction('agent.economie', 'whatsapp')).toBe('block');
    const [event] = await t.db.query(
      `SELECT action, actor FROM audit_event WHERE entity_id = $1 ORDER BY seq DESC LIMIT 1`,
      [req.body.id],
    );
    expect(event).toEqual({ action: 'exemption.expired', actor: 'system: exemption scheduler' });
    expect(await t.app.get(ExemptionSchedulerService).expireDue()).toBe(0);
  });

  it('reminds the agent once, 14 days ahead, and renews in one click without a gap', async () => {
    const req = await request('agent.economie', { app: 'telegram', justification: JUSTIFICATION, days: 60 });
    const approved = await (
      await t.as('approver.economie')
    )
      .post(`/exemptions/${req.body.id}/approve`)
      .send({})
      .expect(200);
    await t.db.query(`UPDATE exemption SET valid_until = now() + interval '10 days' WHERE id = $1`, [req.body.id]);
    const scheduler = t.app.get(ExemptionSchedulerService);
    expect(await scheduler.remindExpiring()).toBeGreaterThanOrEqual(1);
    expect(await scheduler.remindExpiring()).toBe(0);
    const [{ n }] = await t.db.query(
      `SELECT count(*)::int AS n FROM notification WHERE kind = 'exemption.expiring' AND link LIKE $1`,
      [`%${req.body.id}%`],
    );
    expect(n).toBe(1);
    const notes = (await (await t.as('agent.economie')).get('/me/notifications?unread=true').expect(200)).body;
    const reminder = notes.find((n: { kind: string }) => n.kind === 'exemption.expiring');
    expect(reminder.title).toContain('Telegram');
    // A page of the admin interface (its route after `#`), not the API's JSON at /exemptions/<id>.
    expect(reminder.link).toBe(`http://localhost:3000/#/exemptions/${req.body.id}?renew=1`);
    await (await t.as('agent.economie')).post(`/me/notifications/${reminder.id}/read`).expect(204);
    expect(
      (await (await t.as('agent.economie')).get('/me/notifications?unread=true').expect(200)).body.map(
        (n: { id: string }) => n.id,
      ),
    ).not.toContain(reminder.id);

    await (await t.as('agent.interieur')).post(`/exemptions/${req.body.id}/renew`).send({}).expect(403);
    const renewal = await (await t.as('agent.economie')).post(`/exemptions/${req.body.id}/renew`).send({}).expect(201);
    expect(renewal.body).toMatchObject({
      status: 'pending',
      renewalOf: req.body.id,
      requestedDays: approved.body.approvedDays,
    });
    const [{ valid_until: oldEnd }] = await t.db.query(`SELECT valid_until FROM exemption WHERE id = $1`, [
      req.body.id,
    ]);
    const renewed = await (
      await t.as('approver.economie')
    )
      .post(`/exemptions/${renewal.body.id}/approve`)
      .send({ days: 30 })
      .expect(200);
    expect(new Date(renewed.body.validUntil).getTime()).toBeCloseTo(new Date(oldEnd).getTime() + 30 * 86_400_000, -4);
    const old = await (await t.as('agent.economie')).get(`/exemptions/${req.body.id}`).expect(200);
    expect(old.body.status).toBe('expired');
    expect(await effectiveAction('agent.economie', 'telegram')).toBe('allow');
  });

  it("sends each ministry's approvers a digest of pending requests", async () => {
    const [approver] = await t.db.query(`SELECT id FROM agent WHERE sub = 'demo-approver-interieur'`);
    const before = await countRows(t.db, 'notification');
    expect(await t.app.get(ExemptionSchedulerService).digest()).toBeGreaterThan(0);
    const [digest] = await t.db.query(
      `SELECT title, link FROM notification WHERE agent_id = $1 AND kind = 'exemption.digest'`,
      [approver.id],
    );
    expect(digest.title).toMatch(/^(1 demande|\d+ demandes) de dérogation en attente$/);
    expect(digest.link).toBe('http://localhost:3000/#/validation/file?ministere=interieur');
    expect(await countRows(t.db, 'notification')).toBeGreaterThan(before);
  });

  it('keeps a register of who holds what, exported as CSV, for the ministry only', async () => {
    const reg = await (await t.as('approver.interieur')).get('/ministries/interieur/exemption-register').expect(200);
    const x = reg.body.find((e: { app: { slug: string } }) => e.app.slug === 'x');
    expect(x).toMatchObject({
      status: 'approved',
      agent: { email: 'lea.bernard@interieur.gouv.fr' },
      decidedBy: { displayName: 'Nadia Benali' },
      justification: JUSTIFICATION,
    });
    const csv = await (
      await t.as('approver.interieur')
    )
      .get('/ministries/interieur/exemption-register.csv')
      .expect(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.headers['content-disposition']).toBe('attachment; filename="registre-des-derogations.csv"');
    // As French Excel opens it: UTF-8 BOM (else "Lï¿½a"), `;` between cells, CRLF, Paris time.
    const raw = Buffer.from(csv.text, 'utf8');
    expect([...raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = csv.text
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toBe(
      "agent;email;application;slug;appareil;justification;accordée par;accordée le (heure de Paris);valable jusqu'au (heure de Paris);identifiant",
    );
    const lea = lines.find((l) =>
      l.startsWith('Léa Bernard;lea.bernard@interieur.gouv.fr;X (Twitter);x;tous ses appareils;'),
    );
    expect(lea).toBeDefined();
    const cells = (lea as string).split(';');
    const id = cells[cells.length - 1];
    const held = reg.body.find((e: { id: string }) => e.id === id) as { validUntil: string };
    const paris = new Intl.DateTimeFormat('sv-SE', {
      timeZone: 'Europe/Paris',
      dateStyle: 'short',
      timeStyle: 'medium',
    }).format(new Date(held.validUntil));
    expect(cells[cells.length - 2]).toBe(paris);
    expect(cells[cells.length - 2]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(lines).toHaveLength(reg.body.length + 1);
    await (await t.as('approver.culture')).get('/ministries/interieur/exemption-register.csv').expect(403);
    await (await t.as('presse.interieur')).get('/ministries/interieur/exemption-register').expect(403);
  });
});

describe('the queue, paged by keyset', () => {
  it('pages through every request exactly once, in (requested_at, id) order, ties included', async () => {
    const [agent] = await t.db.query(`SELECT id FROM agent WHERE sub = 'demo-agent-armees'`);
    const [{ slug }] = await t.db.query(`SELECT slug FROM app ORDER BY slug LIMIT 1`);
    // 60 requests at the very same microsecond, 65 one microsecond apart: an offset or a
    // millisecond cursor would skip or repeat some of them.
    await t.db.query(
      `INSERT INTO exemption (agent_id, ministry_code, app_slug, justification, requested_days, status, requested_at)
       SELECT $1, 'armees', $2, 'Ligne de test du pagineur de la file', 30, 'cancelled',
              CASE WHEN i <= 60 THEN timestamptz '2026-01-05 10:00:00.123456+00'
                   ELSE timestamptz '2026-01-05 10:00:00.123456+00' + make_interval(secs => (i - 60) / 1000000.0) END
       FROM generate_series(1, 125) i`,
      [agent.id, slug],
    );
    const expected = (
      await t.db.query(
        `SELECT id FROM exemption WHERE ministry_code = 'armees' AND status = 'cancelled' AND app_slug = $1
         ORDER BY requested_at, id`,
        [slug],
      )
    ).map((r: { id: string }) => r.id);
    expect(expected.length).toBeGreaterThanOrEqual(125);
    const approver = await t.as('approver.armees');
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const query = new URLSearchParams({ status: 'cancelled', app: slug, limit: '20' });
      if (cursor) query.set('cursor', cursor);
      const page = (await approver.get(`/ministries/armees/exemptions?${query}`).expect(200)).body as {
        total: number;
        items: { id: string }[];
        nextCursor: string | null;
      };
      expect(page.total).toBe(expected.length);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(cursor).toBeNull();
    expect(seen).toEqual(expected);
  });

  it('refuses a cursor it did not write, and a cursor with an offset, in a sentence', async () => {
    const approver = await t.as('approver.armees');
    for (const bad of ['abc', Buffer.from('["2026-01-01", "x"]').toString('base64url'), '%%%']) {
      const res = await approver.get(`/ministries/armees/exemptions?cursor=${encodeURIComponent(bad)}`).expect(400);
      expect(res.body.code).toBe('exemption.invalid-cursor');
      expect(res.body.message).toMatch(/nextCursor of a previous page/);
    }
    const first = (await approver.get('/ministries/armees/exemptions?status=cancelled&limit=1').expect(200)).body;
    expect(first.nextCursor).toEqual(expect.any(String));
    const both = await approver
      .get(`/ministries/armees/exemptions?status=cancelled&offset=1&cursor=${first.nextCursor}`)
      .expect(400);
    expect(both.body.code).toBe('exemption.invalid-cursor');
    // Another ministry's queue stays closed, cursor or not.
    await (
      await t.as('approver.culture')
    )
      .get(`/ministries/armees/exemptions?status=cancelled&cursor=${first.nextCursor}`)
      .expect(403);
  });
});

describe('restart', () => {
  it('expires at start-up what expired while the service was down, and the worker sends the emails', async () => {
    const req = await request('agent.culture', { app: 'youtube', justification: JUSTIFICATION, days: 30 });
    expect(req.body.code).toBe('exemption.not-exemptable');
    const ok = await request('agent.culture', { app: 'discord', justification: JUSTIFICATION, days: 30 });
    await (await t.as('approver.culture')).post(`/exemptions/${ok.body.id}/approve`).send({}).expect(200);
    await t.stop();
    // While the service is down, the period ends.
    const { Client } = await import('pg');
    const client = new Client({ connectionString: t.databaseUrl });
    await client.connect();
    await client.query(`UPDATE exemption SET valid_until = now() - interval '1 hour' WHERE id = $1`, [ok.body.id]);
    await client.end();

    t = await startTestApp({ reuse: t, worker: true });
    const [{ status }] = await t.db.query(`SELECT status FROM exemption WHERE id = $1`, [ok.body.id]);
    expect(status).toBe('expired');
    expect(await effectiveAction('agent.culture', 'discord')).toBe('block');
    // The worker drains the email jobs written with each notification.
    const deadline = Date.now() + 20_000;
    let unsent = -1;
    while (Date.now() < deadline) {
      [{ n: unsent }] = await t.db.query(`SELECT count(*)::int AS n FROM notification WHERE email_sent_at IS NULL`);
      if (unsent === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(unsent).toBe(0);
  });
});
