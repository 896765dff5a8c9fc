/**
 * `npm run bench -- identity-renewal`: can the per-minute identity renewal keep up when a whole fleet
 * comes due at once (RENEWAL_DEVICES iPhones, default 100,000, enrolled in the same few days two
 * years ago: every identity lapses within the renewal window)?
 *
 * The fleet is seeded in SQL (device, enrollment, identity bound to its UDID, expiries spread evenly
 * over the next RENEWAL_WINDOW_DAYS, default 60, the push topic of the active certificate). Then
 * RENEWAL_TICKS (default 10) minutes are played back to back: each runs
 * AppleIdentityRenewalService.tick() (select the due identities soonest first, then per phone: a new
 * identity, its enrollment profile, the InstallProfile queued and audited in one transaction, a
 * push), timed; then one tick with the same fleet due within two days instead (renewal started
 * late) shows the pace rising to its cap. Pushes are counted, not sent. Baseline, in the same run:
 * AppleCaService.issueIdentity alone, as many times as the ticks renewed (the key generation every
 * renewal needs), so that the ratio says what queueing, auditing and selecting add to it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createApp } from '../api/src/app.factory';
import { AppleCaService } from '../api/src/apple/apple-ca.service';
import { ApnsService } from '../api/src/apple/apns.service';
import { AppleIdentityRenewalService } from '../api/src/apple/identity-renewal/apple-identity-renewal.service';
import { runMigrations } from '../api/src/database/data-source';
import { startEmbeddedPostgres } from '../api/src/database/embedded-postgres';
import { importPoliciesIfEmpty } from '../api/src/policies/as-code/import-policies';
import { benchAppOptions, progressBar, summary } from './support';

const DEVICES = Number(process.env.RENEWAL_DEVICES ?? 100_000);
const TICKS = Number(process.env.RENEWAL_TICKS ?? 10);
const WINDOW_DAYS = Number(process.env.RENEWAL_WINDOW_DAYS ?? 60);
const MINISTRIES = ['armees', 'culture', 'economie', 'interieur'];
const TOPIC = 'com.apple.mgmt.bench';

async function main(): Promise<void> {
  const pgDir = mkdtempSync(join(tmpdir(), 'mdm-bench-renewal-'));
  const pg = await startEmbeddedPostgres({
    dir: pgDir,
    port: 54500 + Math.floor(Math.random() * 390),
    database: 'bench',
    persistent: false,
  });
  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  try {
    await runMigrations(pg.url);
    app = await createApp(
      benchAppOptions(pg.url, {
        apple: {
          serverBaseUrl: 'http://127.0.0.1:9',
          apnsHost: '127.0.0.1',
          apnsPort: 9,
          identityFrom: 'signature',
          proxyCertHeader: 'X-Client-Certificate',
          identityRenewDays: WINDOW_DAYS,
        },
      }),
    );
    await app.init();
    const db = app.get(DataSource);
    await importPoliciesIfEmpty(app, resolve(__dirname, '../policies'));
    let pushes = 0;
    // Counted, not sent: the push throughput is the apns bench's.
    app.get(ApnsService).wake = async () => {
      pushes++;
    };
    // The renewal only reads the active certificate's topic: no real certificate is needed.
    await db.query(
      `INSERT INTO apple_push_certificate (topic, cert_pem, key_pem, not_after, uploaded_by) VALUES ($1, '', '', now() + interval '1 year', 'bench')`,
      [TOPIC],
    );
    const enrollments = (await db.query(
      `INSERT INTO apple_enrollment (token, ministry_code, expires_at, created_by, max_devices)
       SELECT 'bench-' || m, m, now() - interval '700 days', 'bench', 1000 FROM unnest($1::text[]) m RETURNING id`,
      [MINISTRIES],
    )) as { id: string }[];

    const seed = progressBar(`seeding ${DEVICES.toLocaleString('en')} iPhones`, DEVICES);
    for (let from = 0; from < DEVICES; from += 25_000) {
      const n = Math.min(25_000, DEVICES - from);
      await db.query(
        `WITH d AS (
           INSERT INTO device (platform, ownership, ministry_code, display_name, model, apple_udid, apple_identity_serial,
                               apns_token, push_magic, apns_topic, last_seen_at)
           SELECT 'ios', 'company', ($3::text[])[1 + g % 4], 'bench iPhone ' || g, 'iPhone15,2',
                  '00008120-' || lpad(upper(to_hex(g)), 16, '0'), 'bench' || g,
                  encode(sha256(('renewal-bench-' || g)::bytea), 'hex'), md5(g::text), $5, now()
             FROM generate_series($1::int, $1::int + $2::int - 1) g
           RETURNING apple_udid, apple_identity_serial
         )
         INSERT INTO apple_identity (serial, enrollment_id, udid, enrolled_at, issued_at, not_after)
         SELECT d.apple_identity_serial, ($4::uuid[])[1 + (substr(d.apple_identity_serial, 6)::int % 4)], d.apple_udid,
                now() - interval '700 days', now() - interval '700 days',
                now() + make_interval(secs => 86400.0 * $6 * (1 + substr(d.apple_identity_serial, 6)::int) / $7)
           FROM d`,
        [from, n, MINISTRIES, enrollments.map((e) => e.id), TOPIC, WINDOW_DAYS, DEVICES + 1],
      );
      seed.tick(n);
    }
    seed.done();
    await db.query(`ANALYZE device`);
    await db.query(`ANALYZE apple_identity`);

    const renewal = app.get(AppleIdentityRenewalService);
    const tickMs: number[] = [];
    const queued: number[] = [];
    for (let i = 0; i < TICKS; i++) {
      const start = process.hrtime.bigint();
      const r = await renewal.tick();
      tickMs.push(Number(process.hrtime.bigint() - start) / 1e6);
      queued.push(r.queued);
    }
    // The same fleet due within two days instead of the window (renewal started late): the pace must rise.
    await db.query(
      `UPDATE apple_identity SET not_after = now() + (not_after - now()) * (2.0 / $1)
        WHERE udid IS NOT NULL AND revoked_at IS NULL`,
      [WINDOW_DAYS],
    );
    const urgentStart = process.hrtime.bigint();
    const urgent = await renewal.tick();
    const urgentMs = Number(process.hrtime.bigint() - urgentStart) / 1e6;

    // Baseline: the key generation alone, as many identities as the regular ticks renewed.
    const renewed = queued.reduce((a, b) => a + b, 0);
    const ca = app.get(AppleCaService);
    const baselineStart = process.hrtime.bigint();
    for (let i = 0; i < renewed; i++) await ca.issueIdentity(`appareil ${randomUUID()}`);
    const baselineMs = Number(process.hrtime.bigint() - baselineStart) / 1e6;

    const [{ n: commands }] = (await db.query(
      `SELECT count(*)::int AS n FROM apple_command WHERE request_type = 'InstallProfile'`,
    )) as { n: number }[];
    const perRenewal = tickMs.reduce((a, b) => a + b, 0) / Math.max(renewed, 1);
    const perIdentity = baselineMs / Math.max(renewed, 1);
    console.log(
      JSON.stringify(
        {
          date: new Date().toISOString(),
          devices: DEVICES,
          windowDays: WINDOW_DAYS,
          ticks: TICKS,
          queuedPerTick: summary(queued),
          renewalsPerDayAtThatPace: Math.round((renewed / TICKS) * 1440),
          tickMs: summary(tickMs),
          budgetUsedP95: `${((summary(tickMs).p95 / 60_000) * 100).toFixed(2)} % of the minute`,
          urgentTick: { queued: urgent.queued, ms: Math.round(urgentMs) },
          installProfilesQueued: commands,
          pushes,
          perRenewalMs: Math.round(perRenewal * 10) / 10,
          baseline: {
            identities: renewed,
            ms: Math.round(baselineMs),
            perIdentityMs: Math.round(perIdentity * 10) / 10,
          },
          ratioPerRenewalToBaseline: Math.round((perRenewal / perIdentity) * 100) / 100,
        },
        null,
        2,
      ),
    );
  } finally {
    await app?.close();
    await pg.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
