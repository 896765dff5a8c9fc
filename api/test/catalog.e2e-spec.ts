import { countRows, startTestApp, TestApp } from './support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const newApp = {
  slug: 'osmand',
  name: 'OsmAnd',
  category: 'productivity',
  android: ['net.osmand'],
  ios: ['net.osmand.maps'],
};

describe('catalog', () => {
  it('lists the real catalog to any signed-in agent, filterable', async () => {
    const agent = await t.as('agent.economie');
    const all = await agent.get('/catalog/apps').expect(200);
    expect(all.body.length).toBeGreaterThanOrEqual(30);
    const games = await agent.get('/catalog/apps?category=recreational-game').expect(200);
    expect(games.body.every((a: { category: string }) => a.category === 'recreational-game')).toBe(true);
    expect(games.body.map((a: { slug: string }) => a.slug)).toContain('candy-crush-saga');
    const search = await agent.get('/catalog/apps?q=netf').expect(200);
    expect(search.body).toEqual([
      expect.objectContaining({
        slug: 'netflix',
        android: ['com.netflix.mediaclient', 'com.netflix.ninja'],
        ios: ['com.netflix.Netflix'],
      }),
    ]);
    const none = await agent.get('/catalog/apps?q=%25').expect(200);
    expect(none.body).toEqual([]);
    await agent.get('/catalog/apps/nope').expect(404);
  });

  it('maps one app to all its packages: Lite and regional builds block with it', async () => {
    const agent = await t.as('agent.economie');
    const android = async (slug: string) => (await agent.get(`/catalog/apps/${slug}`).expect(200)).body.android;
    expect(await android('tiktok')).toEqual(
      expect.arrayContaining(['com.zhiliaoapp.musically', 'com.zhiliaoapp.musically.go', 'com.ss.android.ugc.trill']),
    );
    expect(await android('facebook')).toEqual(['com.facebook.katana', 'com.facebook.lite']);
    expect(await android('instagram')).toEqual(['com.instagram.android', 'com.instagram.lite']);
    expect(await android('telegram')).toContain('org.thunderdog.challegram');
    expect(await android('whatsapp-business')).toEqual(['com.whatsapp.w4b']);
    // A variant belongs to its app: another app cannot claim it.
    const res = await (
      await t.as('admin.national')
    )
      .post('/catalog/apps')
      .send({ ...newApp, slug: 'tiktok-lite', android: ['com.zhiliaoapp.musically.go'] })
      .expect(409);
    expect(res.body.message).toContain('already belongs to app "tiktok"');
  });

  it('lets national admins add an app, audited, and refuses everyone else', async () => {
    await (await t.as('it.interieur')).post('/catalog/apps').send(newApp).expect(403);
    const res = await (await t.as('admin.national')).post('/catalog/apps').send(newApp).expect(201);
    expect(res.body).toEqual(newApp);
    const [event] = await t.db.query(`SELECT action, entity_id FROM audit_event ORDER BY seq DESC LIMIT 1`);
    expect(event).toEqual({ action: 'catalog.app-added', entity_id: 'osmand' });
    await (await t.as('admin.national')).post('/catalog/apps').send(newApp).expect(409);
  });

  it.each([
    ['a bad slug', { ...newApp, slug: 'Bad Slug' }, '/slug'],
    ['an unknown category', { ...newApp, slug: 'a1', category: 'fun' }, '/category must be one of'],
    ['a bad package name', { ...newApp, slug: 'a2', android: ['not a package'] }, '/android/0'],
    [
      'an identifier owned by another app',
      { ...newApp, slug: 'a3', android: ['com.zhiliaoapp.musically'] },
      'already belongs to app "tiktok"',
    ],
  ])('refuses %s with a 4xx naming the field, writing nothing', async (_n, body, message) => {
    const before = { apps: await countRows(t.db, 'app'), audit: await countRows(t.db, 'audit_event') };
    const res = await (await t.as('admin.national')).post('/catalog/apps').send(body);
    expect([400, 409]).toContain(res.status);
    expect(res.body.message).toContain(message);
    expect({ apps: await countRows(t.db, 'app'), audit: await countRows(t.db, 'audit_event') }).toEqual(before);
  });
});
