/**
 * `npm run bench -- checkin`: Idle polls (`PUT /mdm/server`, `{UDID, Status: Idle}`, signed with
 * Mdm-Signature) answered by the service when the device has nothing pending (empty 200).
 *
 * 0. Issuing device identities: the bare key generation of node:crypto (`generateKeyPair`, RSA 2048,
 *    as many in flight as cores; CHECKIN_KEYGEN_SAMPLE keys, default 40), then
 *    `AppleCaService.issueIdentity` alone (the same count), then the time the service takes to fill
 *    its identity pool (CHECKIN_IDENTITY_POOL, default CHECKIN_DEVICES).
 * 1. CHECKIN_DEVICES (default 2,000) simulated iPhones enroll for real: an enrollment link from the
 *    service, the profile downloaded over HTTP (timed on its own: the enrollment-profile rate, the
 *    identity taken from the pool), `SimulatedIPhone.fromEnrollmentProfile`, Authenticate +
 *    TokenUpdate. CHECKIN_PROFILE_SERVERS (default 0) extra instances of the service on the same
 *    database (this file, BENCH_ROLE=profile-server) may serve the profiles instead; check-ins go to
 *    the measured instance.
 * 2. The three inventory commands queued at TokenUpdate are marked answered in SQL (the bench is
 *    about Idle polls, not inventory), then every phone polls once through the simulator, which
 *    must end on an empty 200.
 * 3. Load: CHECKIN_CONCURRENCY (default 50) polls in flight for CHECKIN_SECONDS (default 20) after
 *    a 2 s warm-up, from a worker thread (plain node:http, keep-alive) replaying each device's
 *    pre-signed Idle body, round-robin over the devices. The same load, with the same bodies and
 *    signatures, against a bare node:http server on 127.0.0.1 that parses the plist with `plist` and
 *    answers the same empty 200: the baseline.
 * 3b. Scale-out: the same load against 1, then 2 (CHECKIN_PROCESSES, default "1,2") service processes
 *    of their own (this file forked, BENCH_ROLE=profile-server, no identity pool) on the same
 *    database, one port each, the 50 connections spread over them; polls/s, p99 and where the CPU
 *    goes (the service processes, this process's load thread, PostgreSQL), and the ratio 2 / 1.
 * 4. Parts of a poll, measured alone: verifyDetachedSignature, the CA check of the signer
 *    certificate (AppleCaService.serialIfOurs), the plist parse, MdmProtocolService.server (the
 *    database work) in-process with the same concurrency (CHECKIN_MICRO_CALLS, default 5,000, and
 *    CHECKIN_PROTOCOL_CALLS, default 10,000, calls).
 * CHECKIN_CPU_PROFILE=<file> (with CHECKIN_CPU_PROFILE_PHASE=service|enroll) writes a V8 CPU profile
 * of the main thread during that phase.
 */
import { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createServer as createHttpServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import plist from 'plist';
import { DataSource } from 'typeorm';
import { createApp, CreateAppOptions } from '../api/src/app.factory';
import { AppleCaService } from '../api/src/apple/apple-ca.service';
import { AppleEnrollmentService } from '../api/src/apple/apple-enrollment.service';
import { AppleSettings } from '../api/src/apple/apple-settings';
import { verifyDetachedSignature } from '../api/src/apple/cms/cms';
import { MdmProtocolService, parsePlistBody } from '../api/src/apple/mdm-protocol.service';
import { PushCertificateService } from '../api/src/apple/push-certificate.service';
import { AuditService } from '../api/src/audit/audit.service';
import { runMigrations } from '../api/src/database/data-source';
import { startEmbeddedPostgres } from '../api/src/database/embedded-postgres';
import { seedDemoData } from '../api/src/demo/demo-seeder';
import { DirectoryService } from '../api/src/directory/directory.service';
import { importPoliciesIfEmpty } from '../api/src/policies/as-code/import-policies';
import { signDetached } from '../tools/apple-sim/cms';
import { SimulatedIPhone } from '../tools/apple-sim/device-simulator';
import { startFakeApns } from '../tools/apple-sim/fake-apns';
import { buildPlist, parseMobileconfig, payloadsOf } from '../tools/apple-sim/mobileconfig';
import {
  createMdmPushCertificate,
  createServerCertificate,
  createTestCa,
  identityFromPkcs12,
} from '../tools/apple-sim/pki';
import {
  benchAppOptions,
  cpuMeter,
  forkService,
  freePort,
  inParallel,
  processCpuMs,
  progressBar,
  serveInChild,
  stopService,
  summary,
} from './support';

const DEVICES = Number(process.env.CHECKIN_DEVICES ?? 2000);
const CONCURRENCY = Number(process.env.CHECKIN_CONCURRENCY ?? 50);
const SECONDS = Number(process.env.CHECKIN_SECONDS ?? 20);
const PROFILE_SERVERS = Number(process.env.CHECKIN_PROFILE_SERVERS ?? 0);
/** iPhones added in SQL beside the enrolled ones (identity, enrollment, device, 3 answered commands), for tables at a fleet's size. */
const EXTRA_DEVICES = Number(process.env.CHECKIN_EXTRA_DEVICES ?? 0);
const ROUNDS = Number(process.env.CHECKIN_ROUNDS ?? 2);
const KEYGEN_SAMPLE = Number(process.env.CHECKIN_KEYGEN_SAMPLE ?? 40);
const IDENTITY_POOL = Number(process.env.CHECKIN_IDENTITY_POOL ?? DEVICES);
const ENROLL_CONCURRENCY = Number(process.env.CHECKIN_ENROLL_CONCURRENCY ?? 8);
const MICRO_CALLS = Number(process.env.CHECKIN_MICRO_CALLS ?? 5000);
const PROTOCOL_CALLS = Number(process.env.CHECKIN_PROTOCOL_CALLS ?? 10_000);
const WARMUP_MS = 2000;
/** Scale-out: the Idle polls against this many service processes of their own (child processes, one port each). */
const PROCESSES = (process.env.CHECKIN_PROCESSES ?? '1,2')
  .split(',')
  .filter((x) => x.trim() !== '')
  .map(Number);
/** With CHECKIN_CPU_PROFILE=<file>: which phase of the main process to profile (service | enroll). */
const PROFILE_PHASE = process.env.CHECKIN_CPU_PROFILE_PHASE ?? 'service';
const MINISTRIES = ['armees', 'culture', 'economie', 'interieur'];

interface AppConfig {
  databaseUrl: string;
  apple: AppleSettings;
}

function appOptions(config: AppConfig): CreateAppOptions {
  return benchAppOptions(config.databaseUrl, { apple: config.apple });
}

// ---------------------------------------------------------------------------------------------
// The load generator: a worker thread (its own event loop, its own core), plain JavaScript.

const LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { host, port, ports, path, concurrency, durationMs, bodies, signatures } = workerData;
const targets = ports && ports.length > 0 ? ports : [port];
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
const latencies = [];
const statuses = {};
let nonEmpty = 0, errors = 0, firstError = null, next = 0;
function one(i, slot) {
  return new Promise((resolve) => {
    const body = bodies[i];
    const t0 = process.hrtime.bigint();
    const req = http.request({ host, port: targets[slot % targets.length], path, method: 'PUT', agent, headers: {
      'content-type': 'application/x-apple-aspen-mdm', 'content-length': body.length, 'user-agent': 'MDM/1.0', 'mdm-signature': signatures[i] } }, (res) => {
      let size = 0;
      res.on('data', (c) => { size += c.length; });
      res.on('end', () => {
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
        if (size > 0) nonEmpty++;
        resolve();
      });
    });
    req.on('error', (e) => { errors++; if (!firstError) firstError = e.message; resolve(); });
    req.end(body);
  });
}
const started = performance.now();
const deadline = started + durationMs;
async function slot(_, k) { while (performance.now() < deadline) await one(next++ % bodies.length, k); }
Promise.all(Array.from({ length: concurrency }, slot)).then(() => {
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  parentPort.postMessage({ n: latencies.length, seconds, latencies: Float64Array.from(latencies), statuses, nonEmpty, errors, firstError });
});
`;

interface LoadResult {
  n: number;
  seconds: number;
  latencies: Float64Array;
  statuses: Record<string, number>;
  nonEmpty: number;
  errors: number;
  firstError: string | null;
}

function runLoad(
  target: { host: string; port: number; path: string; ports?: number[] },
  durationMs: number,
  bodies: Buffer[],
  signatures: string[],
): Promise<LoadResult> {
  const worker = new Worker(LOAD_WORKER, {
    eval: true,
    execArgv: [],
    workerData: { ...target, concurrency: CONCURRENCY, durationMs, bodies, signatures },
  });
  return new Promise((ok, ko) => {
    worker.once('message', (m: LoadResult) => {
      ok(m);
      void worker.terminate();
    });
    worker.once('error', ko);
  });
}

/** Warm-up, then the measured run, with a progress bar over the seconds and CPU use. */
async function measureLoad(
  label: string,
  target: { host: string; port: number; path: string; ports?: number[] },
  bodies: Buffer[],
  signatures: string[],
  pgDir: string,
) {
  await runLoad(target, WARMUP_MS, bodies, signatures);
  const bar = progressBar(label, SECONDS);
  const ticker = setInterval(() => bar.tick(), 1000);
  const cpu = cpuMeter(pgDir);
  const r = await runLoad(target, SECONDS * 1000, bodies, signatures);
  const use = cpu();
  clearInterval(ticker);
  bar.done();
  return {
    polls: r.n,
    seconds: Math.round(r.seconds * 100) / 100,
    pollsPerSecond: Math.round(r.n / r.seconds),
    latencyMs: summary(Array.from(r.latencies)),
    statuses: r.statuses,
    nonEmptyAnswers: r.nonEmpty,
    errors: r.errors,
    ...(r.firstError ? { firstError: r.firstError } : {}),
    cpu: use,
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers.

const generateRsa = promisify(generateKeyPair);

/** `n` calls, `concurrency` at a time: per second over the wall clock, and latency. */
async function timedParallel(
  n: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<{ n: number; concurrency: number; perSecond: number; latencyMs: ReturnType<typeof summary> }> {
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  await inParallel(n, concurrency, async (i) => {
    const t0 = process.hrtime.bigint();
    await fn(i);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { n, concurrency, perSecond: Math.round((n / seconds) * 10) / 10, latencyMs: summary(latencies) };
}

/** Per-call time of a synchronous function, in microseconds. */
function microTimed(
  n: number,
  fn: (i: number) => void,
): { calls: number; meanUs: number; p50Us: number; p99Us: number; perSecondOneCore: number } {
  const samples = new Float64Array(n);
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fn(i);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const totalUs = Number(process.hrtime.bigint() - started) / 1000;
  const s = summary(Array.from(samples));
  return {
    calls: n,
    meanUs: Math.round((totalUs / n) * 10) / 10,
    p50Us: s.p50,
    p99Us: s.p99,
    perSecondOneCore: Math.round((n / totalUs) * 1e6),
  };
}

/** CHECKIN_CPU_PROFILE=<file.cpuprofile>: a V8 CPU profile of this process's main thread while the service is under load. */
async function startProfiler(): Promise<{ stop: (file: string) => Promise<void> }> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((ok, ko) => session.post(method, params ?? {}, (e, r) => (e ? ko(e) : ok(r))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  return {
    stop: async (file) => {
      const { profile } = (await post('Profiler.stop')) as { profile: object };
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/** The bare baseline: node:http, the body parsed with `plist`, the same empty 200. */
function bareServer(): Promise<Server> {
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let dict: unknown;
      try {
        dict = plist.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      const d = dict as Record<string, unknown>;
      if (typeof d?.UDID !== 'string' || d.Status !== 'Idle') {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/xml; charset=utf-8', 'content-length': '0' });
      res.end();
    });
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

/** The device identity in a profile (what the phone installs), so that the bench can sign for it. */
function identityOf(profileXml: Buffer): { certPem: string; keyPem: string } {
  const payloads = payloadsOf(parseMobileconfig(profileXml).profile);
  const mdm = payloads.find((p) => p.PayloadType === 'com.apple.mdm');
  const p12 = payloads.find((p) => p.PayloadUUID === mdm?.IdentityCertificateUUID);
  if (!p12 || !Buffer.isBuffer(p12.PayloadContent)) throw new Error('profile without its PKCS#12 identity');
  const { certPem, keyPem } = identityFromPkcs12(
    p12.PayloadContent,
    typeof p12.Password === 'string' ? p12.Password : '',
  );
  return { certPem, keyPem };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = Date.now();
  const load1 = Math.round(loadavg()[0] * 100) / 100;
  const apple = createTestCa('Apple Sim Root CA');
  const push = createMdmPushCertificate(apple);
  const apnsPeer = await startFakeApns({
    ca: apple,
    serverCert: createServerCertificate(apple, ['127.0.0.1', 'localhost']),
    expectedTopic: push.topic,
  });
  const pgDir = mkdtempSync(join(tmpdir(), 'mdm-bench-checkin-'));
  const pg = await startEmbeddedPostgres({
    dir: pgDir,
    port: 54100 + Math.floor(Math.random() * 390),
    database: 'bench',
    persistent: false,
  });
  const port = await freePort();
  const config: AppConfig = {
    databaseUrl: pg.url,
    apple: {
      serverBaseUrl: `http://127.0.0.1:${port}`,
      apnsHost: '127.0.0.1',
      apnsPort: apnsPeer.port,
      apnsCaPem: apple.certPem,
      identityFrom: 'signature',
      proxyCertHeader: 'X-Client-Certificate',
      identityPool: IDENTITY_POOL,
    },
  };
  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  let bare: Server | undefined;
  const helpers: ChildProcess[] = [];
  const phones: SimulatedIPhone[] = [];
  try {
    await runMigrations(pg.url);
    // 0. The baseline for issuing identities: node:crypto's RSA key generation alone, before the service exists.
    const keygen = await timedParallel(KEYGEN_SAMPLE, cpus().length, () =>
      generateRsa('rsa', { modulusLength: 2048 }).then(() => undefined),
    );
    app = await createApp(appOptions(config));
    await app.init();
    await app.listen(port, '127.0.0.1');
    const db = app.get(DataSource);
    await importPoliciesIfEmpty(app, resolve(__dirname, '../policies'));
    await seedDemoData(db, app.get(AuditService));
    const directory = app.get(DirectoryService);
    await app
      .get(PushCertificateService)
      .upload(await directory.principalFor({ sub: 'demo-admin-national' }), push.certPem, push.keyPem);
    await app.get(AppleCaService).caPem(); // the device CA exists before other instances start
    const itAdmins = new Map(
      await Promise.all(
        MINISTRIES.map(async (m) => [m, await directory.principalFor({ sub: `demo-it-${m}` })] as const),
      ),
    );

    // 0. The identity pool fills in the background from start-up; then one identity issued without it.
    const ca = app.get(AppleCaService);
    const poolFillStarted = Date.now();
    const poolBar = progressBar(`identity pool: ${IDENTITY_POOL.toLocaleString('en')}`, IDENTITY_POOL);
    let shown = 0;
    const poolTicker = setInterval(() => {
      poolBar.tick(Math.max(0, ca.ready - shown));
      shown = Math.max(shown, ca.ready);
    }, 1000);
    await ca.whenReady();
    clearInterval(poolTicker);
    poolBar.done();
    const poolFillSeconds = (Date.now() - poolFillStarted) / 1000;
    const issueAlone = await timedParallel(KEYGEN_SAMPLE, cpus().length, () =>
      ca.issueIdentity('bench').then(() => undefined),
    );

    // 1. Enrollment.
    const profileServers: string[] = [];
    for (let i = 0; i < PROFILE_SERVERS; i++) {
      const s = await forkService(__filename, 'profile-server', config);
      helpers.push(s.child);
      profileServers.push(s.url);
    }
    if (profileServers.length === 0) profileServers.push(config.apple.serverBaseUrl);
    const enrollment = app.get(AppleEnrollmentService);
    const linkUrls = new Array<string>(DEVICES);
    const linkBar = progressBar(`links for ${DEVICES.toLocaleString('en')} iPhones`, DEVICES);
    await inParallel(
      DEVICES,
      ENROLL_CONCURRENCY,
      async (i) => {
        const ministry = MINISTRIES[i % MINISTRIES.length];
        const link = await enrollment.createLink(
          itAdmins.get(ministry) as Awaited<ReturnType<DirectoryService['principalFor']>>,
          ministry,
          { expiresInHours: 24 },
        );
        linkUrls[i] = link.url.replace(config.apple.serverBaseUrl, profileServers[i % profileServers.length]);
      },
      () => linkBar.tick(),
    );
    linkBar.done();
    // The enrollment-profile rate: downloads over HTTP, ENROLL_CONCURRENCY in flight, identities from the pool.
    const profiles = new Array<Buffer>(DEVICES);
    const profileBar = progressBar(`profiles ×${ENROLL_CONCURRENCY}`, DEVICES);
    const profileCpu = cpuMeter(pgDir);
    const poolBefore = ca.ready;
    const profileDownloads = await timedParallel(DEVICES, ENROLL_CONCURRENCY, async (i) => {
      const res = await fetch(linkUrls[i]);
      if (res.status !== 200) throw new Error(`profile download: HTTP ${res.status} ${await res.text()}`);
      profiles[i] = Buffer.from(await res.arrayBuffer());
      profileBar.tick();
    });
    const profileCpuUse = profileCpu();
    profileBar.done();
    const identities: { certPem: string; keyPem: string }[] = new Array(DEVICES);
    const steps = { profileInstall: 0, authenticateAndTokenUpdate: 0 };
    const enrolled = progressBar(`enrolling ${DEVICES.toLocaleString('en')} iPhones`, DEVICES);
    const enrollProfiler =
      process.env.CHECKIN_CPU_PROFILE && PROFILE_PHASE === 'enroll' ? await startProfiler() : undefined;
    const enrollCpu = cpuMeter(pgDir);
    const helpersCpu0 = helpers.map((h) => processCpuMs(h.pid));
    const enrollStarted = Date.now();
    await inParallel(
      DEVICES,
      ENROLL_CONCURRENCY,
      async (i) => {
        let t = process.hrtime.bigint();
        const lap = (step: keyof typeof steps) => {
          const now = process.hrtime.bigint();
          steps[step] += Number(now - t) / 1e6;
          t = now;
        };
        const profile = profiles[i];
        const identity = identityOf(profile);
        const phone = SimulatedIPhone.fromEnrollmentProfile(profile, { identity, installedApps: [] });
        lap('profileInstall');
        await phone.enroll();
        lap('authenticateAndTokenUpdate');
        identities[i] = identity;
        phones[i] = phone;
      },
      () => enrolled.tick(),
    );
    enrolled.done();
    const enrollSeconds = (Date.now() - enrollStarted) / 1000;
    const enrollCpuUse = {
      ...enrollCpu(),
      profileServersPercent: Math.round(
        helpers.reduce((sum, h, k) => sum + processCpuMs(h.pid) - helpersCpu0[k], 0) / 10 / enrollSeconds,
      ),
    };
    if (enrollProfiler) await enrollProfiler.stop(process.env.CHECKIN_CPU_PROFILE as string);
    await Promise.all(helpers.splice(0).map(stopService));

    const udids = phones.map((p) => p.udid);
    const [{ n: devicesWithToken }] = (await db.query(
      `SELECT count(*)::int AS n FROM device WHERE platform = 'ios' AND apns_token IS NOT NULL AND unenrolled_at IS NULL AND apple_udid = ANY($1)`,
      [udids],
    )) as { n: number }[];
    if (devicesWithToken !== DEVICES) throw new Error(`${devicesWithToken} of ${DEVICES} iPhones enrolled`);

    // 2. Nothing pending: the inventory queued at TokenUpdate counts as answered. Then one real poll each.
    const drained = (await db.query(
      `UPDATE apple_command SET status = 'acknowledged', answered_at = now(), result = '{}' WHERE status IN ('queued', 'sent', 'not-now')`,
    )) as [unknown[], number];
    const checkBar = progressBar('one simulator poll each', DEVICES);
    const stoppedBy: Record<string, number> = {};
    await inParallel(
      DEVICES,
      20,
      async (i) => {
        const r = await phones[i].poll();
        const key = `${r.stoppedBy} ${r.httpStatus}`;
        stoppedBy[key] = (stoppedBy[key] ?? 0) + 1;
      },
      () => checkBar.tick(),
    );
    checkBar.done();
    if (stoppedBy['empty 200'] !== DEVICES) throw new Error(`simulator polls: ${JSON.stringify(stoppedBy)}`);

    // Tables at a fleet's size: more iPhones, enrolled in SQL, that do not poll.
    if (EXTRA_DEVICES > 0) {
      const extra = progressBar(`${EXTRA_DEVICES.toLocaleString('en')} more iPhones in SQL`, EXTRA_DEVICES);
      for (let from = 0; from < EXTRA_DEVICES; from += 20_000) {
        const n = Math.min(20_000, EXTRA_DEVICES - from);
        await db.query(
          `WITH e AS (
             INSERT INTO apple_enrollment (token, ministry_code, expires_at, created_by, max_devices)
             SELECT 'bench-extra-' || g, ($3::text[])[1 + g % 4], now() + interval '1 day', 'bench', 1
               FROM generate_series($1::int, $1::int + $2::int - 1) g
             RETURNING id, token, ministry_code
           ), i AS (
             INSERT INTO apple_identity (serial, enrollment_id, udid, enrolled_at)
             SELECT '03' || md5(e.token), e.id, 'EXTRA-' || upper(md5(e.token)), now() FROM e
             RETURNING serial, udid, enrollment_id
           ), d AS (
             INSERT INTO device (platform, ownership, ministry_code, display_name, apple_udid, apple_identity_serial, apns_token, push_magic, last_seen_at)
             SELECT 'ios', 'company', e.ministry_code, 'bench extra', i.udid, i.serial, md5(i.serial) || md5(i.udid), upper(md5(i.udid)::uuid::text), now()
               FROM i JOIN e ON e.id = i.enrollment_id
             RETURNING id
           )
           INSERT INTO apple_command (device_id, request_type, command, status, answered_at, result)
           SELECT d.id, rt, convert_to('{}', 'UTF8'), 'acknowledged', now(), '{}'::jsonb
             FROM d CROSS JOIN unnest(ARRAY['DeviceInformation', 'InstalledApplicationList', 'ManagedApplicationList']) rt`,
          [from, n, MINISTRIES],
        );
        extra.tick(n);
      }
      extra.done();
      await db.query(`ANALYZE`);
    }

    // The same signed Idle bodies for the service and the baseline.
    const bodies = phones.map((p) => Buffer.from(buildPlist({ UDID: p.udid, Status: 'Idle' }), 'utf8'));
    const signatures = bodies.map((b, i) => signDetached(b, identities[i]));

    // 3. Load: the service and the bare server, alternated over CHECKIN_ROUNDS rounds (order swapped each round).
    bare = await bareServer();
    const barePort = (bare.address() as { port: number }).port;
    type Measured = Awaited<ReturnType<typeof measureLoad>>;
    const rounds: { service: Measured; bare: Measured }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const one: Partial<{ service: Measured; bare: Measured }> = {};
      for (const what of round % 2 === 0 ? (['service', 'bare'] as const) : (['bare', 'service'] as const)) {
        if (what === 'service') {
          const profiler =
            round === 0 && process.env.CHECKIN_CPU_PROFILE && PROFILE_PHASE === 'service'
              ? await startProfiler()
              : undefined;
          one.service = await measureLoad(
            `service ×${CONCURRENCY} for ${SECONDS} s`,
            { host: '127.0.0.1', port, path: '/mdm/server' },
            bodies,
            signatures,
            pgDir,
          );
          if (profiler) await profiler.stop(process.env.CHECKIN_CPU_PROFILE as string);
        } else {
          one.bare = await measureLoad(
            `bare http ×${CONCURRENCY} for ${SECONDS} s`,
            { host: '127.0.0.1', port: barePort, path: '/mdm/server' },
            bodies,
            signatures,
            pgDir,
          );
        }
      }
      rounds.push(one as { service: Measured; bare: Measured });
    }
    // 3b. Scale-out: the same polls against N service processes of their own on the same database (each
    // its own port, the load's connections spread over them as a load balancer would), N from
    // CHECKIN_PROCESSES; the in-process service above stays idle meanwhile.
    const scaleOut: {
      processes: number;
      pollsPerSecond: number;
      latencyMs: Measured['latencyMs'];
      statuses: Measured['statuses'];
      errors: number;
      cpuPercentOfOneCore: { serviceProcesses: number[]; benchProcess: number; postgres: number; machine: number };
      cpuMsPerPoll: { serviceProcesses: number; postgres: number; benchProcess: number };
      loadAverage1m: number;
    }[] = [];
    for (const n of PROCESSES) {
      const servers: { url: string; child: ChildProcess }[] = [];
      try {
        for (let k = 0; k < n; k++)
          servers.push(
            await forkService(__filename, 'profile-server', { ...config, apple: { ...config.apple, identityPool: 0 } }),
          );
        const ports = servers.map((x) => Number(new URL(x.url).port));
        // Each process has its own caches (certificate by fingerprint, the CMS prefix of each device), as
        // a replica in production does once every phone has polled it once: every device polls each
        // process once before the measure.
        const warm = progressBar(`warming ${n} process(es)`, DEVICES * n);
        await inParallel(
          DEVICES * n,
          CONCURRENCY,
          async (i) => {
            const k = Math.floor(i / n);
            const res = await fetch(`http://127.0.0.1:${ports[i % n]}/mdm/server`, {
              method: 'PUT',
              headers: { 'content-type': 'application/x-apple-aspen-mdm', 'mdm-signature': signatures[k] },
              body: bodies[k],
            });
            await res.arrayBuffer();
            if (res.status !== 200) throw new Error(`warm-up poll: HTTP ${res.status}`);
          },
          () => warm.tick(),
        );
        warm.done();
        const loadAverage1m = Math.round(loadavg()[0] * 100) / 100;
        const cpu0 = servers.map((x) => processCpuMs(x.child.pid));
        const t0 = performance.now();
        const m = await measureLoad(
          `${n} process(es) ×${CONCURRENCY} for ${SECONDS} s`,
          { host: '127.0.0.1', port: ports[0], ports, path: '/mdm/server' },
          bodies,
          signatures,
          pgDir,
        );
        // measureLoad's warm-up is inside [t0, now]: the processes' CPU is taken over the measured part only.
        const wallMs = performance.now() - t0;
        const perProcessMs = servers.map((x, k) => processCpuMs(x.child.pid) - cpu0[k]);
        const measuredShare = (m.seconds * 1000) / wallMs;
        const percent = (ms: number) => Math.round(((ms * measuredShare) / (m.seconds * 1000)) * 100);
        const perPoll = (percentOfCore: number) =>
          Math.round(((percentOfCore / 100) * 1000 * 1000) / m.pollsPerSecond) / 1000;
        const servicePercents = perProcessMs.map(percent);
        const serviceTotal = servicePercents.reduce((a, b) => a + b, 0);
        scaleOut.push({
          processes: n,
          pollsPerSecond: m.pollsPerSecond,
          latencyMs: m.latencyMs,
          statuses: m.statuses,
          errors: m.errors,
          cpuPercentOfOneCore: {
            serviceProcesses: servicePercents,
            benchProcess: m.cpu.nodeProcessPercent,
            postgres: m.cpu.postgresPercent,
            machine: m.cpu.machinePercent,
          },
          cpuMsPerPoll: {
            serviceProcesses: perPoll(serviceTotal),
            postgres: perPoll(m.cpu.postgresPercent),
            benchProcess: perPoll(m.cpu.nodeProcessPercent),
          },
          loadAverage1m,
        });
      } finally {
        await Promise.all(servers.map((x) => stopService(x.child)));
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    const { service, bare: baseline } = rounds[rounds.length - 1];

    // 4. Parts of one poll, alone.
    const verify = microTimed(MICRO_CALLS, (i) => {
      const r = verifyDetachedSignature(bodies[i % DEVICES], signatures[i % DEVICES]);
      if (!r.ok) throw new Error(`signature ${i}: ${r.reason}`);
    });
    const certPems = identities.map((id) => id.certPem);
    const caSamples: number[] = [];
    const caStarted = process.hrtime.bigint();
    for (let i = 0; i < MICRO_CALLS; i++) {
      const t0 = process.hrtime.bigint();
      if (!(await ca.serialIfOurs(certPems[i % DEVICES]))) throw new Error('serialIfOurs refused a device certificate');
      caSamples.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    const caTotalUs = Number(process.hrtime.bigint() - caStarted) / 1000;
    const caS = summary(caSamples);
    const caCheck = {
      calls: MICRO_CALLS,
      meanUs: Math.round((caTotalUs / MICRO_CALLS) * 10) / 10,
      p50Us: caS.p50,
      p99Us: caS.p99,
      perSecondOneCore: Math.round((MICRO_CALLS / caTotalUs) * 1e6),
    };
    const parse = microTimed(MICRO_CALLS, (i) => void parsePlistBody(bodies[i % DEVICES]));
    const serials = new Map(
      (
        (await db.query(`SELECT serial, udid FROM apple_identity WHERE udid = ANY($1)`, [udids])) as {
          serial: string;
          udid: string;
        }[]
      ).map((r) => [r.udid, r.serial]),
    );
    const mdm = app.get(MdmProtocolService);
    const protoLatencies: number[] = [];
    const protoBar = progressBar(`MdmProtocolService.server ×${CONCURRENCY}`, PROTOCOL_CALLS);
    const protoCpu = cpuMeter(pgDir);
    const protoStarted = process.hrtime.bigint();
    await inParallel(
      PROTOCOL_CALLS,
      CONCURRENCY,
      async (i) => {
        const k = i % DEVICES;
        const t0 = process.hrtime.bigint();
        const answer = await mdm.server(serials.get(udids[k]) as string, bodies[k]);
        protoLatencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (answer !== '') throw new Error('a command was pending');
      },
      () => protoBar.tick(),
    );
    const protoSeconds = Number(process.hrtime.bigint() - protoStarted) / 1e9;
    const protoCpuUse = protoCpu();
    protoBar.done();
    const protocol = {
      calls: PROTOCOL_CALLS,
      perSecond: Math.round(PROTOCOL_CALLS / protoSeconds),
      latencyMs: summary(protoLatencies),
      cpu: protoCpuUse,
      queriesPerCall: 1,
    };

    const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
    console.log(
      JSON.stringify(
        {
          command: `CHECKIN_DEVICES=${DEVICES} CHECKIN_EXTRA_DEVICES=${EXTRA_DEVICES} CHECKIN_CONCURRENCY=${CONCURRENCY} CHECKIN_SECONDS=${SECONDS} CHECKIN_PROCESSES=${PROCESSES.join(',')} npm run bench -- checkin`,
          startedAt: new Date(startedAt).toISOString(),
          machine: { cores: cpus().length, node: process.version, loadAverage1mAtStart: load1 },
          devices: DEVICES,
          extraDevicesInSql: EXTRA_DEVICES,
          identities: {
            bareNodeCryptoKeygen: keygen,
            issueIdentityWithoutPool: issueAlone,
            pool: {
              size: IDENTITY_POOL,
              fillSeconds: Math.round(poolFillSeconds),
              filledPerSecond: Math.round((IDENTITY_POOL / poolFillSeconds) * 10) / 10,
            },
            profileDownloads: { ...profileDownloads, poolReadyAtStart: poolBefore, cpu: profileCpuUse },
            ratioProfilesOverBareKeygen: ratio(profileDownloads.perSecond, keygen.perSecond),
          },
          enrollment: {
            note: 'profiles already downloaded: install (PKCS#12 decoded by the simulator) + Authenticate + TokenUpdate',
            seconds: Math.round(enrollSeconds),
            perSecond: Math.round((DEVICES / enrollSeconds) * 10) / 10,
            profileServers: PROFILE_SERVERS,
            inFlight: ENROLL_CONCURRENCY,
            meanMsPerDeviceByStep: Object.fromEntries(
              Object.entries(steps).map(([k, v]) => [k, Math.round((v / DEVICES) * 10) / 10]),
            ),
            cpu: enrollCpuUse,
            initialCommandsMarkedAnswered: drained[1],
            simulatorPollAfterwards: stoppedBy,
          },
          idlePolls: {
            concurrency: CONCURRENCY,
            service: service,
            bareHttpPlist: baseline,
            rounds: rounds.map((r) => ({
              servicePerSecond: r.service.pollsPerSecond,
              serviceP99Ms: r.service.latencyMs.p99,
              barePerSecond: r.bare.pollsPerSecond,
              bareP99Ms: r.bare.latencyMs.p99,
              ratio: ratio(r.service.pollsPerSecond, r.bare.pollsPerSecond),
              p99OverBareP99: ratio(r.service.latencyMs.p99, r.bare.latencyMs.p99),
            })),
            ratioServiceOverBareMedian: median(
              rounds.map((r) => ratio(r.service.pollsPerSecond, r.bare.pollsPerSecond)),
            ),
            p99OverBareP99Median: median(rounds.map((r) => ratio(r.service.latencyMs.p99, r.bare.latencyMs.p99))),
          },
          scaleOut: {
            note: 'Idle polls against N service processes of their own (child processes, one port each), same bodies; benchProcess = the load thread (and the idle in-process service)',
            runs: scaleOut,
            ratioTwoOverOne: (() => {
              const one = scaleOut.find((r) => r.processes === 1);
              const two = scaleOut.find((r) => r.processes === 2);
              return one && two ? ratio(two.pollsPerSecond, one.pollsPerSecond) : null;
            })(),
            bareHttpPlistPerSecond: baseline.pollsPerSecond,
            bareHttpPlistP99Ms: baseline.latencyMs.p99,
          },
          partsOfOnePoll: {
            verifyDetachedSignature: verify,
            caCheckSerialIfOurs: caCheck,
            parsePlistBody: parse,
            mdmProtocolServerInProcess: protocol,
          },
          totalSeconds: Math.round((Date.now() - startedAt) / 1000),
        },
        null,
        2,
      ),
    );
  } finally {
    for (const p of phones) p?.dispose();
    await Promise.all(helpers.map(stopService));
    if (bare) {
      const b = bare;
      b.closeAllConnections();
      await new Promise<void>((ok) => b.close(() => ok()));
    }
    await app?.close();
    await apnsPeer.close();
    await pg.stop();
  }
}

if (process.env.BENCH_ROLE === 'profile-server') {
  serveInChild('profile server', appOptions);
} else {
  main()
    .then(() => process.exit(0))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
