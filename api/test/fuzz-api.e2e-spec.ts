/**
 * Hostile input against every write endpoint of the JSON API (and the reads' paths and query
 * strings): each generated write carries a defect and must be refused with a 4xx JSON message,
 * nothing may answer 5xx, and the database must be exactly as before. FUZZ_API_CASES (default
 * 5,500) cases; FUZZ_SEED replays another run.
 */
import type { Server } from 'node:http';
import { FakeAmapi, startFakeAmapi } from '../../tools/fake-amapi/fake-amapi';
import {
  apiCases,
  databaseFingerprint,
  Fixtures,
  formatStats,
  healthy,
  runCases,
  truncatedOnTheWire,
} from './support/fuzz';
import {
  API_ENDPOINTS,
  FuzzHost,
  JUSTIFICATION,
  LOGIN_STATE,
  prepareApiFixtures,
  tokensFor,
  uploadPushCertificate,
} from './support/fuzz-targets';
import { startTestApp, TestApp } from './support/test-app';
import { fakeAmapiSettings } from './support/fake-amapi-settings';

const CASES = Number(process.env.FUZZ_API_CASES ?? 5500);
const SEED = Number(process.env.FUZZ_SEED ?? 20240611);

let t: TestApp;
let fake: FakeAmapi;
let host: FuzzHost;
let fixtures: Fixtures;
let tokens: Map<string, string>;

beforeAll(async () => {
  fake = await startFakeAmapi({
    enterprises: ['enterprises/LC0interieur'],
    projectId: 'mdm-etat',
    autoApply: true,
    autoApplyDelayMs: 5,
  });
  t = await startTestApp({
    listen: true,
    browserLogin: { publicUrl: 'http://127.0.0.1:3000' },
    apple: {
      serverBaseUrl: 'http://127.0.0.1:9',
      apnsHost: '127.0.0.1',
      apnsPort: 9,
      identityFrom: 'signature',
      proxyCertHeader: 'X-Client-Certificate',
    },
    android: fakeAmapiSettings(fake),
  });
  host = { server: t.app.getHttpServer() as Server, db: t.db, token: t.token };
  tokens = await tokensFor(host);
  await uploadPushCertificate(host, tokens);
  fixtures = await prepareApiFixtures(host, tokens);
}, 120_000);

afterAll(async () => {
  await t?.close();
  await fake?.stop();
});

describe('Fuzz: the JSON API', () => {
  it(`refuses ${CASES} defective requests with a 4xx JSON message, never a 5xx, and writes nothing`, async () => {
    const before = await databaseFingerprint(t.db, LOGIN_STATE);
    const stats = await runCases(host.server, tokens, apiCases(API_ENDPOINTS, fixtures, CASES, SEED));
    console.log(
      `${formatStats('JSON API', stats)}\n${Object.entries(stats.byTarget)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join('\n')}`,
    );
    expect(stats.failures).toEqual([]);
    expect(await healthy(host.server)).toBe(true);
    expect(await databaseFingerprint(t.db, LOGIN_STATE)).toEqual(before);
    expect(stats.cases).toBe(CASES);
  }, 300_000);

  it('stays up when bodies are cut short on the wire (Content-Length larger than what arrives)', async () => {
    const port = (host.server.address() as { port: number }).port;
    const before = await databaseFingerprint(t.db, LOGIN_STATE);
    const body = JSON.stringify({ app: 'x', justification: JUSTIFICATION, days: 30 });
    for (let i = 0; i < 40; i++)
      await truncatedOnTheWire(
        port,
        '/exemptions',
        tokens.get('agent.interieur') as string,
        body.slice(0, (i * 7) % body.length),
        1 + i * 13,
      );
    console.log('JSON API: 40 bodies cut short on the wire');
    expect(await healthy(host.server)).toBe(true);
    expect(await databaseFingerprint(t.db, LOGIN_STATE)).toEqual(before);
  });
});
