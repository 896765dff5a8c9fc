/**
 * `npm run bench -- faults`: the fault test (api/test/faults*.e2e-spec.ts) at fleet size.
 *
 * FAULTS_ANDROID (default 5,000) Android phones on the fake Google (seeded in the database and in
 * the fake, attached to and applying their group's policy, as after their enrollment) and
 * FAULTS_IOS (default 1,000) iPhones enrolled for real (enrollment profile, device identity,
 * Authenticate + TokenUpdate) on the fake APNs. Then, with FAULTS_RATE (default 0.2) of the
 * requests to Google and APNs failing (429 with Retry-After, 500, 503, timeouts, dropped
 * connections, answers lost after the work was done): a national baseline change and
 * FAULTS_DECISIONS (default 50) exemption approvals; the worker (its own process, `npm run worker`)
 * is SIGKILLed once it holds rollout jobs and started again; PostgreSQL is stopped for 3 s and
 * started again on the same folder and port; the faults stop after FAULTS_SECONDS (default 30) of
 * rollout once FAULTS_UNTIL_SHARE (default 0.5) of the fleet converged. Reported: time to convergence, deliveries accepted / duplicated against the retries
 * that explain them, faults met, and the audit verification.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createApp } from '../api/src/app.factory';
import { AppleEnrollmentService } from '../api/src/apple/apple-enrollment.service';
import { PushCertificateService } from '../api/src/apple/push-certificate.service';
import { AuditService } from '../api/src/audit/audit.service';
import { startEmbeddedPostgres, RunningPostgres } from '../api/src/database/embedded-postgres';
import { asRole } from '../api/src/database/service-role';
import { DirectoryService } from '../api/src/directory/directory.service';
import { ExemptionsService } from '../api/src/exemptions/exemptions.service';
import { PolicyPlanService } from '../api/src/policies/policy-plan.service';
import { PolicyStateService } from '../api/src/policies/policy-state.service';
import { PolicyGroupService } from '../api/src/rollout/policy-group.service';
import { RolloutEngine } from '../api/src/rollout/rollout-engine.service';
import { SimulatedIPhone } from '../tools/apple-sim/device-simulator';
import {
  activeRolloutJobs,
  androidSettings,
  appleSettings,
  deliveries,
  eventually,
  faultsOff,
  faultsOn,
  Fleet,
  mark,
  MINISTRIES,
  prepareDatabase,
  sleep,
  startFakes,
  startWorkerProcess,
  unconverged,
  WorkerProcess,
} from '../api/test/support/faults-fleet';
import { benchAppOptions, freePort, inParallel, progressBar } from './support';
import { PUBSUB_AUDIENCE } from '../api/test/support/fake-amapi-settings';

const ANDROID = Number(process.env.FAULTS_ANDROID ?? 5000);
const IOS = Number(process.env.FAULTS_IOS ?? 1000);
const RATE = Number(process.env.FAULTS_RATE ?? 0.2);
const DECISIONS = Number(process.env.FAULTS_DECISIONS ?? 50);
const FAULT_SECONDS = Number(process.env.FAULTS_SECONDS ?? 30);
/** …and not before this share of the fleet converged, so that the faults meet the pushes. */
const FAULTS_UNTIL_SHARE = Number(process.env.FAULTS_UNTIL_SHARE ?? 0.5);
const DEADLINE_MINUTES = Number(process.env.FAULTS_DEADLINE_MINUTES ?? 30);

async function count(db: DataSource, sql: string): Promise<number> {
  return Number((await db.query(sql))[0].n);
}

const CONVERGED = `SELECT count(*) AS n FROM device d JOIN policy_group g ON g.id = d.group_id WHERE d.unenrolled_at IS NULL AND d.applied_hash = g.desired_hash`;

async function main(): Promise<void> {
  const started = Date.now();
  const load = [loadavg()];
  const pgDir = mkdtempSync(join(tmpdir(), 'mdm-bench-faults-'));
  const pgPort = await freePort();
  let pg: RunningPostgres = await startEmbeddedPostgres({
    dir: pgDir,
    port: pgPort,
    database: 'faults',
    persistent: true,
  });
  await prepareDatabase(pg.url);
  const f = await startFakes();
  const port = await freePort();
  const app = await createApp(
    benchAppOptions(asRole(pg.url), {
      logLevel: 'silent',
      android: { ...androidSettings(f), quotaPer100s: 1_000_000 },
      apple: appleSettings(f, port),
      // A thousand iPhones enrolling from one loopback address are not an attack.
      rateLimit: { windowSeconds: 60, perUser: 1_000_000, perIp: 1_000_000 },
    }),
  );
  await app.init();
  await app.listen(port, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  f.amapi.pubsub.pushEndpoint = `${url}/android/pubsub`;
  f.amapi.pubsub.audience = PUBSUB_AUDIENCE;
  const db = app.get(DataSource);
  const workers: WorkerProcess[] = [];
  const fleet: Fleet = { android: [], phones: [] };
  try {
    const directory = app.get(DirectoryService);
    const admin = await directory.principalFor({ sub: 'demo-admin-national' });
    await app.get(PushCertificateService).upload(admin, f.push.certPem, f.push.keyPem);
    await db.query(`UPDATE device SET unenrolled_at = now()`);
    for (const m of MINISTRIES)
      await db.query(
        `INSERT INTO android_enterprise (ministry_code, enterprise_name, created_by) VALUES ($1, $2, 'bench')`,
        [m, `enterprises/LC0${m}`],
      );

    // Android: agents and phones in the database, attached to and applying their group's policy on the fake.
    const seed = progressBar(`seeding ${ANDROID.toLocaleString('en')} Android phones`, ANDROID);
    await db.query(
      `WITH a AS (INSERT INTO agent (sub, email, ministry_code)
                  SELECT 'android-' || g, 'android' || g || '@bench.gouv.fr', ($2::text[])[1 + g % 2] FROM generate_series(0, $1::int - 1) g RETURNING id, ministry_code, sub)
       INSERT INTO device (platform, ownership, agent_id, ministry_code, display_name, android_device_name)
       SELECT 'android', 'company', id, ministry_code, 'bench', 'enterprises/LC0' || ministry_code || '/devices/' || replace(sub, 'android-', 'd') FROM a`,
      [ANDROID, MINISTRIES],
    );
    seed.tick(ANDROID);
    seed.done();
    await db.transaction((tx) => app.get(PolicyGroupService).assignUngrouped(tx));
    await db.query(`DELETE FROM pgboss.job WHERE name = 'rollout.push'`);
    const engine = app.get(RolloutEngine);
    for (const g of (await db.query(
      `SELECT DISTINCT group_id AS id FROM device WHERE platform = 'android' AND unenrolled_at IS NULL`,
    )) as { id: string }[])
      await engine.ensurePublished(g.id);
    await db.query(
      `UPDATE device d SET bound_policy = d.group_id, applied_hash = g.desired_hash FROM policy_group g WHERE g.id = d.group_id AND d.platform = 'android' AND d.unenrolled_at IS NULL`,
    );
    const rows = (await db.query(
      `SELECT d.android_device_name AS name, d.group_id, p.version FROM device d JOIN android_policy_publication p ON p.policy_name = d.group_id AND p.enterprise_name = 'enterprises/LC0' || d.ministry_code WHERE d.unenrolled_at IS NULL`,
    )) as { name: string; group_id: string; version: string }[];
    for (const r of rows) {
      const policyName = `${r.name.split('/devices/')[0]}/policies/${r.group_id}`;
      f.amapi.state.devices.set(r.name, {
        name: r.name,
        state: 'ACTIVE',
        appliedState: 'ACTIVE',
        ownership: 'COMPANY_OWNED',
        managementMode: 'DEVICE_OWNER',
        policyName,
        appliedPolicyName: policyName,
        appliedPolicyVersion: r.version,
        applicationReports: [],
      });
      fleet.android.push(r.name);
    }

    // iPhones: enrolled for real through the service; their first policy arrives through the worker.
    workers.push(await startWorkerProcess({ databaseUrl: pg.url, issuer: 'http://127.0.0.1:9', url }, f));
    const links = app.get(AppleEnrollmentService);
    const it = new Map<string, Awaited<ReturnType<DirectoryService['principalFor']>>>();
    for (const m of MINISTRIES) it.set(m, await directory.principalFor({ sub: `demo-it-${m}` }));
    const enroll = progressBar(`enrolling ${IOS.toLocaleString('en')} iPhones`, IOS);
    await inParallel(
      IOS,
      8,
      async (i) => {
        const ministry = MINISTRIES[i % MINISTRIES.length];
        const link = await links.createLink(
          it.get(ministry) as Awaited<ReturnType<DirectoryService['principalFor']>>,
          ministry,
          { expiresInHours: 24 },
        );
        const phone = SimulatedIPhone.fromEnrollmentProfile(Buffer.from(await (await fetch(link.url)).arrayBuffer()), {
          installedApps: [],
          supervised: true,
          retryFailedPollMs: 1000,
        });
        phone.connectTo(f.apns);
        // A kept-alive socket the server closed at the same moment resets: the phone tries again, as iOS does.
        for (let attempt = 1; ; attempt++) {
          try {
            await phone.enroll();
            break;
          } catch (e) {
            if (attempt >= 3) throw e;
          }
        }
        fleet.phones.push(phone);
      },
      () => enroll.tick(),
    );
    enroll.done();
    const total = ANDROID + IOS;
    const first = progressBar('first policy on every phone', total);
    let last = 0;
    while ((await unconverged(db, f, fleet)).length > 0) {
      const n = await count(db, CONVERGED);
      first.tick(n - last);
      last = n;
      await sleep(1000);
    }
    first.tick(total - last);
    first.done();
    load.push(loadavg());

    // The change, under faults.
    const since = mark(f, fleet);
    faultsOn(f, RATE);
    const changeStarted = Date.now();
    const plans = app.get(PolicyPlanService);
    const state = await app.get(PolicyStateService).current(db.manager);
    const desired = {
      ...state,
      policies: {
        ...state.policies,
        national: {
          ...state.policies.national,
          rules: [
            ...state.policies.national.rules,
            { app: 'nextcloud', action: 'block' as const, exemptable: false, legalBasis: 'Bench' },
          ],
        },
      },
    };
    await plans.apply({ id: null, label: 'bench' }, await plans.planDesired(desired, ['national']));
    const pending = (await db.query(
      `INSERT INTO exemption (agent_id, ministry_code, app_slug, justification, requested_days, status, requested_at)
       SELECT a.id, a.ministry_code, 'x', 'Compte institutionnel (banc d''essai)', 30, 'pending', now() FROM agent a WHERE a.sub LIKE 'android-%' ORDER BY a.sub LIMIT $1 RETURNING id, ministry_code`,
      [DECISIONS],
    )) as { id: string; ministry_code: string }[];
    const approvers = new Map<string, Awaited<ReturnType<DirectoryService['principalFor']>>>();
    for (const m of MINISTRIES) approvers.set(m, await directory.principalFor({ sub: `demo-approver-${m}` }));
    for (const p of pending)
      await app
        .get(ExemptionsService)
        .approve(approvers.get(p.ministry_code) as Awaited<ReturnType<DirectoryService['principalFor']>>, p.id, {});

    // The worker is killed once it holds rollout jobs, and started again.
    await eventually(async () => (await activeRolloutJobs(db)) > 0, 120_000);
    const atKill = total - (await count(db, CONVERGED));
    await workers[0].kill();
    const killedAt = (Date.now() - changeStarted) / 1000;
    workers.push(await startWorkerProcess({ databaseUrl: pg.url, issuer: 'http://127.0.0.1:9', url }, f));

    // PostgreSQL restarts in the middle of the rollout.
    await sleep(3000);
    const atRestart = total - (await count(db, CONVERGED));
    await pg.stop();
    await sleep(3000);
    pg = await startEmbeddedPostgres({ dir: pgDir, port: pgPort, database: 'faults', persistent: true });
    const restartedAt = (Date.now() - changeStarted) / 1000;

    const bar = progressBar('change → converged', total);
    last = 0;
    let faultsStoppedAt: number | null = null;
    let problems: string[] = [];
    for (;;) {
      if (
        faultsStoppedAt === null &&
        Date.now() - changeStarted > FAULT_SECONDS * 1000 &&
        last >= total * FAULTS_UNTIL_SHARE
      ) {
        faultsOff(f);
        faultsStoppedAt = (Date.now() - changeStarted) / 1000;
      }
      const n = await count(db, CONVERGED).catch(() => last);
      bar.tick(n - last);
      last = n;
      if (faultsStoppedAt !== null) {
        problems = await unconverged(db, f, fleet).catch((e: Error) => [e.message]);
        if (problems.length === 0) break;
      }
      if (Date.now() - changeStarted > DEADLINE_MINUTES * 60_000) break;
      await sleep(1000);
    }
    bar.done();
    const convergedAfter = (Date.now() - changeStarted) / 1000;
    load.push(loadavg());
    const d = await deliveries(db, f, fleet, since);
    const audit = await app.get(AuditService).verify(null);
    const round = (x: number) => Math.round(x * 10) / 10;
    console.log(
      JSON.stringify(
        {
          fleet: { android: ANDROID, ios: IOS },
          faultRate: RATE,
          exemptionDecisions: pending.length,
          timeline: {
            workerKilledAtSeconds: round(killedAt),
            devicesPendingAtKill: atKill,
            postgresRestartedAtSeconds: round(restartedAt),
            devicesPendingAtRestart: atRestart,
            faultsStoppedAtSeconds: faultsStoppedAt && round(faultsStoppedAt),
          },
          secondsToConvergence: problems.length === 0 ? round(convergedAfter) : null,
          unconverged: problems.length,
          unconvergedSample: problems.slice(0, 10),
          deliveries: {
            ...d,
            duplicatesExplainedByRetries:
              d.androidDuplicates + d.iosDuplicates <= d.jobRetries + d.forcedRepushes + d.androidLostAnswers,
          },
          amapiRequests: f.amapi.requests.length - since.amapiRequests,
          apnsRequests: f.apns.requests.filter((r) => r.at >= since.at).length,
          audit,
          loadAverage1m: load.map((l) => round(l[0])),
          totalSeconds: round((Date.now() - started) / 1000),
        },
        null,
        2,
      ),
    );
  } finally {
    for (const w of workers) await w.stop();
    for (const phone of fleet.phones) phone.dispose();
    await app.close();
    await f.close();
    await pg.stop();
    rmSync(pgDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
