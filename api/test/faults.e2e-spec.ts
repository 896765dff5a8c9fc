/**
 * Faults, part 1: Google and APNs fail 20 % of the requests (429 with Retry-After, 500, 503,
 * timeouts, dropped connections, answers lost after the work was done) while a baseline change and
 * an exemption decision roll out, and the worker — its own process, as `npm run worker` — is
 * killed with SIGKILL in the middle of the rollout, then started again. Once the faults stop,
 * every phone converges, none is lost, no policy reaches a phone twice beyond what retries
 * explain, and the audit chain verifies.
 */
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
  startFakes,
  startWorkerProcess,
  unconverged,
  waitForConvergence,
  WorkerProcess,
} from './support/faults-fleet';
import { freePort } from './support/ports';
import { startTestApp, TestApp } from './support/test-app';

jest.setTimeout(600_000);

let f: Fakes;
let t: TestApp;
let fleet: Fleet;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  f = await startFakes();
  const port = await freePort();
  // The API alone in this process (Pub/Sub pushes, iPhone check-ins); the worker runs apart.
  t = await startTestApp({ listen: true, port, android: androidSettings(f), apple: appleSettings(f, port) });
  workers.push(await startWorkerProcess(t, f));
  fleet = await enrollFleet(t, f, { android: 24, ios: 8 });
  await waitForConvergence(t.db, f, fleet);
});

afterAll(async () => {
  for (const w of workers) await w.stop();
  for (const phone of fleet?.phones ?? []) phone.dispose();
  await t?.close();
  await f?.close();
});

describe('faults: a worker killed in the middle of a rollout', () => {
  it('converges once the faults stop, without losing a phone nor pushing a policy twice beyond the retries, and the audit log verifies', async () => {
    const since = mark(f, fleet);
    faultsOn(f, 0.2);
    await changeBaselineAndDecideExemption(t, 'nextcloud');

    // Mid-rollout: the worker holds rollout jobs and some phones are not there yet.
    let pending: string[] = [];
    const midRollout = async () =>
      (await activeRolloutJobs(t.db)) > 0 && (pending = await unconverged(t.db, f, fleet)).length > 0;
    expect(await eventually(midRollout, 60_000)).toBe(true);
    await workers[0].kill();

    workers.push(await startWorkerProcess(t, f));
    // The new worker works under faults for a while, then they stop.
    await eventually(async () => (await unconverged(t.db, f, fleet)).length < pending.length, 60_000, 500);
    faultsOff(f);
    await waitForConvergence(t.db, f, fleet);

    const d = await deliveries(t.db, f, fleet, since);
    const report = JSON.stringify(d);
    // The faults were real, and each platform received the change.
    expect(d.amapiFaults + d.apnsFaults).toBeGreaterThan(0);
    expect(d.androidAccepted).toBeGreaterThan(0);
    expect(d.iosInstalled).toBeGreaterThanOrEqual(fleet.phones.length);
    // Each duplicate is explained by a retry: a job run again after the kill re-sends at most the
    // delivery it was making, a forced re-push one device's policy, a lost answer one request.
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
