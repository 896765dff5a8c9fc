/**
 * `npm run bench -- apns`: MDM pushes per second from the service's ApnsService to the fake APNs
 * (HTTP/2 + TLS, client certificate = the uploaded push certificate).
 *
 * APNS_DEVICES (default 200,000) iPhones are seeded in SQL with a token and a PushMagic; then
 * `ApnsService.wake(id)` is called for every one of them with APNS_CONCURRENCY (default 200) in
 * flight, and for APNS_SERIAL_SAMPLE (default 2,000) of them with 1 in flight. The same pushes are
 * also sent with raw node-apn `provider.send` (no database), the baseline: at CONCURRENCY in flight
 * the two alternate over APNS_ROUNDS (default 2) rounds, the order swapped each round, and the ratio
 * is the median of the rounds'. The per-push reads the service made before it batched them are
 * measured alone, to show where the time went. The fake APNs runs in a child process (this file,
 * BENCH_ROLE=fake-apns) so that its TLS and checks do not share the service's event loop; after each
 * phase it reports how many pushes it accepted, and whether each carried the certificate's topic
 * and the device's PushMagic. APNS_DB_READS (default 50,000) sets how many read pairs are timed.
 * CPU use per phase: this process (service or raw client), PostgreSQL, the fake APNs, the machine.
 */
import apn from '@parse/node-apn';
import { ChildProcess, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { createApp } from '../api/src/app.factory';
import { ApnsService } from '../api/src/apple/apns.service';
import { PushCertificateService } from '../api/src/apple/push-certificate.service';
import { AuditService } from '../api/src/audit/audit.service';
import { loadConfig } from '../api/src/config/app-config';
import { runMigrations } from '../api/src/database/data-source';
import { startEmbeddedPostgres } from '../api/src/database/embedded-postgres';
import { seedDemoData } from '../api/src/demo/demo-seeder';
import { DirectoryService } from '../api/src/directory/directory.service';
import { importPoliciesIfEmpty } from '../api/src/policies/as-code/import-policies';
import { FakeApns, startFakeApns } from '../tools/apple-sim/fake-apns';
import { createMdmPushCertificate, createServerCertificate, createTestCa } from '../tools/apple-sim/pki';
import { benchAppOptions, cpuMeter, CpuUse, progressBar, summary } from './support';

const DEVICES = Number(process.env.APNS_DEVICES ?? 200_000);
const CONCURRENCY = Number(process.env.APNS_CONCURRENCY ?? 200);
const SERIAL_SAMPLE = Math.min(DEVICES, Number(process.env.APNS_SERIAL_SAMPLE ?? 2000));
const DB_READS = Math.min(DEVICES, Number(process.env.APNS_DB_READS ?? 20_000));
const ROUNDS = Number(process.env.APNS_ROUNDS ?? 2);
const MINISTRIES = ['armees', 'culture', 'economie', 'interieur'];

/** The PushMagic seeded for a token (the same expression as in the seeding SQL). */
function pushMagicOf(token: string): string {
  const h = createHash('md5').update(token).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`.toUpperCase();
}

// ---------------------------------------------------------------------------------------------
// Child process: the fake APNs.

interface FakeReport {
  pushes: number;
  distinctTokens: number;
  wrongTopic: number;
  wrongPushMagic: number;
  refused: Record<string, number>;
  cpuMs: number;
}

type ToFake =
  | { type: 'start'; caPem: string; serverCert: { certPem: string; keyPem: string }; topic: string }
  | { type: 'report'; id: number }
  | { type: 'reset'; id: number }
  | { type: 'stop' };
type FromFake =
  | { type: 'started'; port: number }
  | { type: 'report'; id: number; report: FakeReport }
  | { type: 'reset'; id: number };

async function fakeApnsChild(): Promise<void> {
  let fake: FakeApns | undefined;
  let topic = '';
  let cpuAtReset = process.cpuUsage();
  const send = (m: FromFake) => process.send?.(m);
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: ToFake) => {
    void (async () => {
      if (m.type === 'start') {
        topic = m.topic;
        fake = await startFakeApns({ ca: { certPem: m.caPem }, serverCert: m.serverCert, expectedTopic: m.topic });
        send({ type: 'started', port: fake.port });
      } else if (m.type === 'reset' && fake) {
        fake.reset();
        cpuAtReset = process.cpuUsage();
        send({ type: 'reset', id: m.id });
      } else if (m.type === 'report' && fake) {
        const tokens = new Set<string>();
        let wrongTopic = 0;
        let wrongPushMagic = 0;
        for (const p of fake.pushes) {
          tokens.add(p.token);
          if (p.topic !== topic) wrongTopic++;
          if (p.pushMagic !== pushMagicOf(p.token)) wrongPushMagic++;
        }
        const refused: Record<string, number> = {};
        for (const r of fake.requests)
          if (r.status !== 200)
            refused[`${r.status} ${r.reason ?? ''}`] = (refused[`${r.status} ${r.reason ?? ''}`] ?? 0) + 1;
        const cpu = process.cpuUsage(cpuAtReset);
        send({
          type: 'report',
          id: m.id,
          report: {
            pushes: fake.pushes.length,
            distinctTokens: tokens.size,
            wrongTopic,
            wrongPushMagic,
            refused,
            cpuMs: Math.round((cpu.user + cpu.system) / 1000),
          },
        });
      } else if (m.type === 'stop') {
        await fake?.close();
        process.exit(0);
      }
    })().catch((e: unknown) => {
      console.error('fake APNs child:', e);
      process.exit(1);
    });
  });
}

/** The parent's handle on the child. */
class FakeApnsProcess {
  private nextId = 1;
  private readonly pending = new Map<number, (m: FromFake) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on('message', (m: FromFake) => {
      if ('id' in m) {
        this.pending.get(m.id)?.(m);
        this.pending.delete(m.id);
      }
    });
  }

  static async start(
    caPem: string,
    serverCert: { certPem: string; keyPem: string },
    topic: string,
  ): Promise<FakeApnsProcess> {
    const child = fork(__filename, [], {
      env: { ...process.env, BENCH_ROLE: 'fake-apns' },
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((ok, ko) => {
      child.once('error', ko);
      child.once('exit', (code) => ko(new Error(`fake APNs child exited (${code})`)));
      child.on('message', (m: FromFake) => {
        if (m.type === 'started') ok(m.port);
      });
      child.send({ type: 'start', caPem, serverCert, topic } satisfies ToFake);
    });
    child.removeAllListeners('exit');
    return new FakeApnsProcess(child, port);
  }

  private ask(type: 'report' | 'reset'): Promise<FromFake> {
    const id = this.nextId++;
    return new Promise((ok) => {
      this.pending.set(id, ok);
      this.child.send({ type, id } satisfies ToFake);
    });
  }

  async report(): Promise<FakeReport> {
    return ((await this.ask('report')) as { report: FakeReport }).report;
  }

  async reset(): Promise<void> {
    await this.ask('reset');
  }

  stop(): Promise<void> {
    return new Promise((ok) => {
      if (this.child.exitCode !== null) return ok();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        ok();
      });
      this.child.send({ type: 'stop' } satisfies ToFake);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Parent: the service.

interface Device {
  id: string;
  token: string;
  pushMagic: string;
}

interface PhaseResult {
  sent: number;
  failures: number;
  firstFailures: string[];
  seconds: number;
  perSecond: number;
  latencyMs: ReturnType<typeof summary>;
  cpu: CpuUse;
}

/** Calls `fn` for items 0..n-1 with `concurrency` in flight, timing each call. */
async function phase(
  pgDataDir: string,
  label: string,
  n: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<PhaseResult> {
  const latencies = new Float64Array(n);
  const failures: string[] = [];
  let failed = 0;
  let next = 0;
  let ticked = 0;
  const bar = progressBar(label, n);
  const cpu = cpuMeter(pgDataDir);
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const t0 = process.hrtime.bigint();
        try {
          await fn(i);
        } catch (e) {
          failed++;
          if (failures.length < 5) failures.push((e as Error).message);
        }
        latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6;
        if (i - ticked >= 1000 || i === n - 1) {
          bar.tick(i + 1 - ticked);
          ticked = i + 1;
        }
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  bar.tick(n - ticked);
  bar.done();
  return {
    sent: n,
    failures: failed,
    firstFailures: failures,
    seconds: Math.round(seconds * 100) / 100,
    perSecond: Math.round(n / seconds),
    latencyMs: summary(Array.from(latencies)),
    cpu: cpu(),
  };
}

function verified(
  r: FakeReport,
  expected: number,
  phase: PhaseResult,
): FakeReport & { fakeApnsCpuPercent: number; allReachedPeer: boolean } {
  return {
    ...r,
    fakeApnsCpuPercent: Math.round(r.cpuMs / 10 / phase.seconds),
    allReachedPeer:
      r.pushes === expected &&
      r.distinctTokens === expected &&
      r.wrongTopic === 0 &&
      r.wrongPushMagic === 0 &&
      Object.keys(r.refused).length === 0,
  };
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const load1 = Math.round(loadavg()[0] * 100) / 100;
  const apple = createTestCa('Apple Sim Root CA');
  const push = createMdmPushCertificate(apple);
  const fake = await FakeApnsProcess.start(
    apple.certPem,
    createServerCertificate(apple, ['127.0.0.1', 'localhost']),
    push.topic,
  );
  const pgDir = mkdtempSync(join(tmpdir(), 'mdm-bench-apns-'));
  const pg = await startEmbeddedPostgres({
    dir: pgDir,
    port: 54500 + Math.floor(Math.random() * 390),
    database: 'bench',
    persistent: false,
  });
  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  let provider: apn.Provider | undefined;
  try {
    await runMigrations(pg.url);
    app = await createApp(
      benchAppOptions(pg.url, {
        apple: {
          serverBaseUrl: 'http://127.0.0.1:9',
          apnsHost: '127.0.0.1',
          apnsPort: fake.port,
          apnsCaPem: apple.certPem,
          identityFrom: 'signature',
          proxyCertHeader: 'X-Client-Certificate',
        },
      }),
    );
    await app.init();
    await app.listen(0, '127.0.0.1');
    const db = app.get(DataSource);
    await importPoliciesIfEmpty(app, resolve(__dirname, '../policies'));
    await seedDemoData(db, app.get(AuditService));
    await db.query(`DELETE FROM device`);

    const admin = await app.get(DirectoryService).principalFor({ sub: 'demo-admin-national' });
    await app.get(PushCertificateService).upload(admin, push.certPem, push.keyPem);

    // The fleet: DEVICES iPhones that completed TokenUpdate (token, PushMagic, topic).
    const devices: Device[] = [];
    const seed = progressBar(`seeding ${DEVICES.toLocaleString('en')} iPhones`, DEVICES);
    for (let from = 0; from < DEVICES; from += 20_000) {
      const n = Math.min(20_000, DEVICES - from);
      const rows = (await db.query(
        `INSERT INTO device (platform, ownership, ministry_code, display_name, model, apple_udid, apns_token, push_magic, apns_topic, last_seen_at)
         SELECT 'ios', 'company', ($3::text[])[1 + g % 4], 'bench iPhone ' || g, 'iPhone15,2', '00008120-' || lpad(upper(to_hex(g)), 16, '0'),
                t.token, upper(md5(t.token)::uuid::text), $4, now()
           FROM generate_series($1::int, $1::int + $2::int - 1) g, LATERAL (SELECT encode(sha256(('apns-bench-' || g)::bytea), 'hex') AS token) t
         RETURNING id, apns_token, push_magic`,
        [from, n, MINISTRIES, push.topic],
      )) as { id: string; apns_token: string; push_magic: string }[];
      for (const r of rows) devices.push({ id: r.id, token: r.apns_token, pushMagic: r.push_magic });
      seed.tick(n);
    }
    seed.done();
    if (devices.some((d, i) => i < 100 && d.pushMagic !== pushMagicOf(d.token)))
      throw new Error('seeded PushMagic differs from the expected one');
    await db.query(`ANALYZE device`);

    const apns = app.get(ApnsService);
    // Warm-up: TLS session, pools, JIT (not counted).
    for (let i = 0; i < Math.min(200, DEVICES); i++) await apns.wake(devices[i].id);
    await fake.reset();

    // 1. ApnsService.wake, 1 in flight.
    const serial = await phase(pgDir, `wake ×1 in flight`, SERIAL_SAMPLE, 1, (i) => apns.wake(devices[i].id));
    const serialPeer = verified(await fake.report(), SERIAL_SAMPLE, serial);
    await fake.reset();

    // 2. Raw node-apn provider.send to the same peer: the baseline without the database.
    provider = new apn.Provider({
      cert: push.certPem,
      key: push.keyPem,
      production: false,
      address: '127.0.0.1',
      port: fake.port,
      ca: [apple.certPem],
    });
    const raw = provider;
    const rawSend = async (i: number): Promise<void> => {
      const note = new apn.Notification();
      note.topic = push.topic;
      note.rawPayload = { mdm: devices[i].pushMagic };
      const result = await raw.send(note, devices[i].token);
      if (result.failed.length > 0)
        throw new Error(
          `APNs ${result.failed[0].status ?? ''} ${JSON.stringify(result.failed[0].response ?? result.failed[0].error?.message)}`,
        );
    };
    for (let i = 0; i < Math.min(200, DEVICES); i++) await rawSend(i);
    await fake.reset();

    // 3. Every device, CONCURRENCY in flight: ApnsService.wake and raw send, alternated over APNS_ROUNDS
    // rounds (the order swapped each round), each phase checked at the peer (every push exactly once).
    const rounds: { wake: PhaseResult & { peer: FakeReport }; raw: PhaseResult & { peer: FakeReport } }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const one: Partial<(typeof rounds)[number]> = {};
      for (const what of round % 2 === 0 ? (['raw', 'wake'] as const) : (['wake', 'raw'] as const)) {
        const r =
          what === 'wake'
            ? await phase(pgDir, `wake ×${CONCURRENCY} (round ${round + 1})`, DEVICES, CONCURRENCY, (i) =>
                apns.wake(devices[i].id),
              )
            : await phase(pgDir, `provider.send ×${CONCURRENCY} (round ${round + 1})`, DEVICES, CONCURRENCY, rawSend);
        one[what] = { ...r, peer: verified(await fake.report(), DEVICES, r) };
        await fake.reset();
      }
      rounds.push(one as (typeof rounds)[number]);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    const parallel = rounds[rounds.length - 1].wake;
    const rawParallel = rounds[rounds.length - 1].raw;
    const rawSerial = await phase(pgDir, 'provider.send ×1 in flight', SERIAL_SAMPLE, 1, rawSend);
    const rawSerialPeer = verified(await fake.report(), SERIAL_SAMPLE, rawSerial);
    await fake.reset();

    // 4. The two reads wake() makes per push (device row, active push certificate), alone.
    const certificates = app.get(PushCertificateService);
    const reads = await phase(pgDir, `wake's 2 reads ×${CONCURRENCY}`, DB_READS, CONCURRENCY, async (i) => {
      await db.query(`SELECT apns_token, push_magic, apns_dead_at FROM device WHERE id = $1`, [devices[i].id]);
      await certificates.active();
    });
    const readsSerial = await phase(pgDir, `wake's 2 reads ×1`, SERIAL_SAMPLE, 1, async (i) => {
      await db.query(`SELECT apns_token, push_magic, apns_dead_at FROM device WHERE id = $1`, [devices[i].id]);
      await certificates.active();
    });

    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    console.log(
      JSON.stringify(
        {
          command: `APNS_DEVICES=${DEVICES} APNS_CONCURRENCY=${CONCURRENCY} npm run bench -- apns`,
          devices: DEVICES,
          machine: { cores: cpus().length, node: process.version, loadAverage1mAtStart: load1 },
          dbPoolSize: loadConfig().DB_POOL_SIZE,
          rounds: rounds.map((r) => ({
            wakePerSecond: r.wake.perSecond,
            wakeP99Ms: r.wake.latencyMs.p99,
            rawPerSecond: r.raw.perSecond,
            rawP99Ms: r.raw.latencyMs.p99,
            ratio: ratio(r.wake.perSecond, r.raw.perSecond),
          })),
          wake: {
            [`concurrency${CONCURRENCY}`]: parallel,
            concurrency1: { ...serial, peer: serialPeer },
            speedupFromConcurrency: ratio(parallel.perSecond, serial.perSecond),
          },
          rawProviderSend: {
            [`concurrency${CONCURRENCY}`]: rawParallel,
            concurrency1: { ...rawSerial, peer: rawSerialPeer },
          },
          wakeDbReadsAlone: { [`concurrency${CONCURRENCY}`]: reads, concurrency1: readsSerial },
          ratios: {
            [`wakeOverRawSend_concurrency${CONCURRENCY}_median`]: median(
              rounds.map((r) => ratio(r.wake.perSecond, r.raw.perSecond)),
            ),
            wakeOverRawSend_concurrency1: ratio(serial.perSecond, rawSerial.perSecond),
            [`dbReadsPerSecondOverWakePerSecond_concurrency${CONCURRENCY}`]: ratio(reads.perSecond, parallel.perSecond),
          },
          totalSeconds: Math.round((Date.now() - startedAt) / 1000),
        },
        null,
        2,
      ),
    );
  } finally {
    if (provider) {
      const p = provider;
      await new Promise<void>((ok) => void p.shutdown(() => ok()));
    }
    await app?.close();
    await fake.stop();
    await pg.stop();
  }
}

if (process.env.BENCH_ROLE === 'fake-apns') {
  void fakeApnsChild();
} else {
  main()
    .then(() => process.exit(0))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
