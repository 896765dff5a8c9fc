import { JWK } from 'jose';
import { driveLoad, seedLoadPopulation } from '../../bench/load-traffic';
import { devIdpPrivateJwk, startTestApp, TestApp } from './support/test-app';

/**
 * The short version of `npm run bench -- load`: 5 s of mixed agent/approver traffic at 300
 * requests/s over loopback. What must hold under load: every request is answered, none with a
 * 5xx, and the writes (new requests, decisions) go through. Speed is measured by the bench, not here.
 */
const SECONDS = Number(process.env.LOAD_TEST_SECONDS ?? 5);
const RATE = Number(process.env.LOAD_TEST_RATE ?? 300);

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ listen: true });
});
afterAll(() => t.close());

it(`answers ${RATE} requests/s of agents and approvers for ${SECONDS} s without a server error`, async () => {
  const idp = {
    issuer: t.issuer,
    audience: process.env.TEST_OIDC_AUDIENCE ?? 'mdm-apps-api',
    privateJwk: devIdpPrivateJwk() as JWK,
  };
  const population = await seedLoadPopulation(t.db, idp, t.url, {
    agentsPerMinistry: 100,
    approversPerMinistry: 2,
    pendingPerMinistry: 50,
  });
  const report = await driveLoad(t.url, population, { rate: RATE, seconds: SECONDS, connections: 30 });
  console.log(
    JSON.stringify({
      requests: report.requests,
      statuses: report.statuses,
      created: report.created,
      decisions: report.decisions,
    }),
  );

  const summary = {
    requests: report.requests,
    statuses: report.statuses,
    byRequest: report.byRequest,
    firstRequestError: report.firstRequestError,
  };
  expect({ ...summary, serverErrors: report.serverErrors, requestErrors: report.requestErrors }).toEqual({
    ...summary,
    serverErrors: 0,
    requestErrors: 0,
  });
  // Every request planned was sent and answered (the generator waits for the last answer).
  expect(report.requests).toBe(RATE * SECONDS);
  // Reads and writes of both roles took place and succeeded.
  expect(report.byRequest['GET /me']?.['200']).toBeGreaterThan(0);
  expect(report.byRequest['GET /ministries/:code/exemptions']?.['200']).toBeGreaterThan(0);
  expect(report.created).toBeGreaterThan(0);
  expect(report.decisions).toBeGreaterThan(0);
  const [{ decided }] = (await t.db.query(
    `SELECT count(*)::int AS decided FROM exemption WHERE decided_at IS NOT NULL AND agent_id IN (SELECT id FROM agent WHERE sub LIKE 'load-agent-%')`,
  )) as { decided: number }[];
  // Every decision answered 200 is recorded, and none other.
  expect(decided).toBe(report.decisions);
}, 120_000);
