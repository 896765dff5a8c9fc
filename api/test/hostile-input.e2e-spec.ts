/**
 * Hostile input that used to end in a 5xx (issue 16, item 7): each is now a 4xx with a sentence,
 * and nothing is written. The fuzz generators (api/test/support/fuzz*.ts) produce the same classes.
 */
import type { Server } from 'node:http';
import request from 'supertest';
import { signDetached } from '../../tools/apple-sim/cms';
import { buildPlist } from '../../tools/apple-sim/mobileconfig';
import { FakeAmapi, startFakeAmapi } from '../../tools/fake-amapi/fake-amapi';
import { fakeAmapiSettings } from './support/fake-amapi-settings';
import { AppleFixtures, prepareAppleFixtures, tokensFor } from './support/fuzz-targets';
import { countRows, startTestApp, TestApp } from './support/test-app';

let t: TestApp;
let fake: FakeAmapi;

beforeAll(async () => {
  fake = await startFakeAmapi({ enterprises: ['enterprises/LC0shared'], projectId: 'mdm-etat' });
  t = await startTestApp({
    android: fakeAmapiSettings(fake),
    apple: {
      serverBaseUrl: 'http://127.0.0.1:9',
      apnsHost: '127.0.0.1',
      apnsPort: 9,
      identityFrom: 'signature',
      proxyCertHeader: 'X-Client-Certificate',
    },
  });
}, 60_000);
afterAll(async () => {
  await t?.close();
  await fake?.stop();
});

/** JSON text with half a surrogate pair: JSON.parse accepts it, PostgreSQL's jsonb does not. */
const LONE = '\\ud800';

function expectRefusal(res: request.Response, status: number, code: string, message: RegExp): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
  expect(res.body.message).toMatch(message);
}

describe('a lone surrogate in free text', () => {
  it('is refused with a 400 naming the field, in any JSON body, and nothing is written', async () => {
    const audit = await countRows(t.db, 'audit_event');
    const exemptions = await countRows(t.db, 'exemption');
    const agent = await t.as('agent.interieur');
    const asked = await agent
      .post('/exemptions')
      .set('Content-Type', 'application/json')
      .send(`{"app":"x","justification":"Compte officiel du ministère ${LONE} pour la crise","days":30}`);
    expectRefusal(asked, 400, 'request.invalid', /justification contains a lone UTF-16 surrogate/);

    const app = await (
      await t.as('admin.national')
    )
      .post('/catalog/apps')
      .set('Content-Type', 'application/json')
      .send(`{"slug":"lone","name":"Appli ${LONE}","category":"social","android":["fr.lone"],"ios":[]}`);
    expectRefusal(app, 400, 'request.invalid', /name contains a lone UTF-16 surrogate/);

    // In a field name too.
    const key = await agent
      .post('/exemptions')
      .set('Content-Type', 'application/json')
      .send(`{"app":"x","justification":"Compte officiel du ministère pour la crise","days":30,"a${LONE}":1}`);
    expectRefusal(key, 400, 'request.invalid', /field name with a lone UTF-16 surrogate/);

    // A pending request, denied with such a reason.
    const pending = await agent
      .post('/exemptions')
      .send({ app: 'x', justification: 'Compte officiel du ministère pour la crise', days: 30 })
      .expect(201);
    const denied = await (
      await t.as('approver.interieur')
    )
      .post(`/exemptions/${pending.body.id}/deny`)
      .set('Content-Type', 'application/json')
      .send(`{"reason":"Pas de besoin ${LONE}"}`);
    expectRefusal(denied, 400, 'request.invalid', /reason contains a lone UTF-16 surrogate/);
    expect(await countRows(t.db, 'exemption')).toBe(exemptions + 1);
    expect(await countRows(t.db, 'audit_event')).toBe(audit + 1);
    // A well-formed pair (an emoji) is text like any other.
    await (
      await t.as('approver.interieur')
    )
      .post(`/exemptions/${pending.body.id}/deny`)
      .set('Content-Type', 'application/json')
      .send(`{"reason":"Pas de besoin \\ud83d\\ude00"}`)
      .expect(200);
  });

  it('is refused in a YAML policy plan (a "\\ud800" escape), with the problem named', async () => {
    const plans = await countRows(t.db, 'policy_plan');
    const res = await (
      await t.as('it.culture')
    )
      .post('/policies/culture/plan')
      .set('Content-Type', 'application/yaml')
      .send(`mode: blocklist\nrules: []\ndescription: "Politique \\ud800 du ministère"\n`);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/lone UTF-16 surrogate/);
    expect(await countRows(t.db, 'policy_plan')).toBe(plans);
  });
});

describe('Apple MDM command channel', () => {
  let fx: AppleFixtures;
  beforeAll(async () => {
    const server = t.app.getHttpServer() as Server;
    fx = await prepareAppleFixtures(
      { server, db: t.db, token: t.token },
      await tokensFor({ server, db: t.db, token: t.token }),
    );
  }, 60_000);

  it('refuses a report whose CommandUUID is not a UUID with a 400, not a database error', async () => {
    for (const uuid of ['not-a-uuid', "' OR 1=1 --", '5F1E0A6C-0000-4000-8000-00000000000G', '']) {
      const body = Buffer.from(buildPlist({ UDID: fx.device.udid, Status: 'Acknowledged', CommandUUID: uuid }));
      const res = await request(t.app.getHttpServer() as Server)
        .put('/mdm/server')
        .set('Content-Type', 'application/x-apple-aspen-mdm')
        .set('Mdm-Signature', signDetached(body, fx.device.identity))
        .send(body);
      expectRefusal(
        res,
        400,
        'apple.malformed-report',
        uuid === '' ? /needs the CommandUUID/ : /is not a UUID, so it names no command of this server/,
      );
    }
  });
});

describe('Android enterprise binding', () => {
  it('refuses an enterprise another ministry holds with a 409 naming it, not a unique violation', async () => {
    await (
      await t.as('it.culture')
    )
      .put('/ministries/culture/android/enterprise')
      .send({ enterpriseName: 'enterprises/LC0shared' })
      .expect(200);
    const audit = await countRows(t.db, 'audit_event');
    const res = await (
      await t.as('it.interieur')
    )
      .put('/ministries/interieur/android/enterprise')
      .send({ enterpriseName: 'enterprises/LC0shared' });
    expectRefusal(res, 409, 'android.enterprise-bound-elsewhere', /already bound to ministry "culture"/);
    expect(await t.db.query(`SELECT ministry_code FROM android_enterprise`)).toEqual([{ ministry_code: 'culture' }]);
    expect(await countRows(t.db, 'audit_event')).toBe(audit);
  });
});
