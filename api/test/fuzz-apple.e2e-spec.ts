/**
 * Hostile input on the Apple MDM channels (PUT /mdm/checkin, PUT /mdm/server) of a really enrolled
 * iPhone: its valid signature over mutated bodies (truncated, garbage, wrong types, XML entity
 * expansion, deep nesting, huge, another device's UDID...), and mutated signatures over a valid
 * body. Every case must be refused with a 4xx JSON message, never a 5xx; the device and the rest
 * of the database stay as they were. FUZZ_APPLE_CASES (default 3,000); FUZZ_SEED replays another run.
 */
import type { Server } from 'node:http';
import { databaseFingerprint, formatStats, healthy, runCases } from './support/fuzz';
import {
  APPLE_VOLATILE,
  appleCases,
  AppleFixtures,
  FuzzHost,
  prepareAppleFixtures,
  tokensFor,
} from './support/fuzz-targets';
import { startTestApp, TestApp } from './support/test-app';

const CASES = Number(process.env.FUZZ_APPLE_CASES ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 20240611);

let t: TestApp;
let host: FuzzHost;
let fixtures: AppleFixtures;

beforeAll(async () => {
  t = await startTestApp({
    apple: {
      serverBaseUrl: 'http://127.0.0.1:9',
      apnsHost: '127.0.0.1',
      apnsPort: 9,
      identityFrom: 'signature',
      proxyCertHeader: 'X-Client-Certificate',
    },
  });
  host = { server: t.app.getHttpServer() as Server, db: t.db, token: t.token };
  fixtures = await prepareAppleFixtures(host, await tokensFor(host));
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('Fuzz: Apple MDM check-in and command channels', () => {
  it(`refuses ${CASES} mutated messages and signatures with a 4xx JSON message, never a 5xx, and writes nothing`, async () => {
    const before = await databaseFingerprint(t.db, APPLE_VOLATILE);
    const cases = appleCases(fixtures, CASES, SEED);
    const stats = await runCases(host.server, new Map(), cases, 4);
    console.log(
      `${formatStats('Apple MDM', stats)}\n${Object.entries(stats.byTarget)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join('\n')}`,
    );
    expect(stats.failures).toEqual([]);
    expect(await healthy(host.server)).toBe(true);
    expect(await databaseFingerprint(t.db, APPLE_VOLATILE)).toEqual(before);
    expect(stats.cases).toBe(CASES);
  }, 300_000);
});
