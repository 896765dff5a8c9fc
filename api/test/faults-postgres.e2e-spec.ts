/**
 * Faults, part 2: PostgreSQL itself restarts in the middle of a rollout, while Google and APNs fail
 * 20 % of the requests. The API and its in-process worker lose every connection, must not crash,
 * and resume: the jobs they held are handed out again, the phones that could not report retry.
 * This test runs its own embedded PostgreSQL (temp folder, own port), stopped and started again
 * on the same folder and port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  activeRolloutJobs,
  androidSettings,
  appleSettings,
  changeBaselineAndDecideExemption,
  deliveries,
  enrollFleet,
  eventually,
  Fakes,
  faultsOff,
  faultsOn,
  Fleet,
  mark,
  PostgresProcess,
  prepareDatabase,
  sleep,
  startFakes,
  startPostgresProcess,
  unconverged,
  waitForConvergence,
} from './support/faults-fleet';
import { freePort } from './support/ports';
import { startTestApp, TestApp } from './support/test-app';

jest.setTimeout(600_000);

let f: Fakes;
let t: TestApp;
let fleet: Fleet;
let pg: PostgresProcess;
let pgPort: number;
const pgDir = mkdtempSync(join(tmpdir(), 'mdm-faults-pg-'));
const crashes: unknown[] = [];
const onCrash = (error: unknown) => crashes.push(error);

beforeAll(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  pgPort = await freePort();
  pg = await startPostgresProcess(pgDir, pgPort);
  await prepareDatabase(pg.url);
  f = await startFakes();
  const port = await freePort();
  t = await startTestApp({
    databaseUrl: pg.url,
    listen: true,
    port,
    worker: true,
    android: androidSettings(f),
    apple: appleSettings(f, port),
  });
  fleet = await enrollFleet(t, f, { android: 16, ios: 6 });
  await waitForConvergence(t.db, f, fleet);
});

afterAll(async () => {
  for (const phone of fleet?.phones ?? []) phone.dispose();
  await t?.close();
  await f?.close();
  await pg?.stop();
  rmSync(pgDir, { recursive: true, force: true });
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

describe('faults: PostgreSQL restarted in the middle of a rollout', () => {
  it('the service survives, resumes and converges; nothing lost, no duplicate beyond the retries, the audit log verifies', async () => {
    const since = mark(f, fleet);
    faultsOn(f, 0.2);
    await changeBaselineAndDecideExemption(t, 'nextcloud');

    // Mid-rollout: the worker holds rollout jobs and some phones are not there yet.
    let pending: string[] = [];
    const midRollout = async () =>
      (await activeRolloutJobs(t.db)) > 0 && (pending = await unconverged(t.db, f, fleet)).length > 0;
    expect(await eventually(midRollout, 60_000)).toBe(true);
    await pg.stop();
    // Down long enough for every pooled connection, job fetch, heartbeat and phone check-in to fail.
    await sleep(3000);
    pg = await startPostgresProcess(pgDir, pgPort);

    await eventually(
      async () => (await unconverged(t.db, f, fleet).catch(() => pending)).length < pending.length,
      60_000,
      500,
    );
    faultsOff(f);
    // Generous: a job that failed while the database was away waits for its heartbeat to lapse and its retry backoff.
    await waitForConvergence(t.db, f, fleet, 420_000);

    expect(crashes).toEqual([]);
    const d = await deliveries(t.db, f, fleet, since);
    const report = JSON.stringify(d);
    expect(d.amapiFaults + d.apnsFaults).toBeGreaterThan(0);
    expect(d.iosInstalled).toBeGreaterThanOrEqual(fleet.phones.length);
    expect({ duplicates: d.androidDuplicates + d.iosDuplicates, report }).toEqual({
      duplicates: Math.min(
        d.androidDuplicates + d.iosDuplicates,
        d.jobRetries + d.forcedRepushes + d.androidLostAnswers,
      ),
      report,
    });
    const verification = (await (await t.as('admin.national')).get('/audit/verify').expect(200)).body;
    expect(verification.valid).toBe(true);
  });
});
