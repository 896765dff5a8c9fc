/**
 * `npm run bench -- inventory`: can the per-minute inventory keep every iPhone inventoried daily at
 * INVENTORY_DEVICES (default 250,000) iPhones?
 *
 * The fleet is seeded in SQL, last inventories spread evenly over the past 24 hours (steady state).
 * Then INVENTORY_TICKS (default 30) minutes are played back to back: each runs
 * AppleCommandHygieneService.tick() (the share of the fleet: queue 3 inventory commands per phone in
 * one statement, one push each; then NotNow re-pushes and pruning), after which the phones asked
 * "answer" (their commands acknowledged, their inventory dated now), as they would within the
 * minute. A tick must take well under its minute. Pushes are counted, not sent (APNs throughput is
 * `npm run bench -- apns`). Baseline, in the same run: the nightly job it replaces
 * (MdmProtocolService.queueInventoryRefresh: one transaction and one push per phone), for the same
 * number of phones as one tick; the ratio compares the time per phone.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { createApp } from '../api/src/app.factory';
import { AppleCommandHygieneService } from '../api/src/apple/apple-command-hygiene.service';
import { ApnsService } from '../api/src/apple/apns.service';
import { MdmProtocolService } from '../api/src/apple/mdm-protocol.service';
import { runMigrations } from '../api/src/database/data-source';
import { startEmbeddedPostgres } from '../api/src/database/embedded-postgres';
import { importPoliciesIfEmpty } from '../api/src/policies/as-code/import-policies';
import { benchAppOptions, progressBar, summary } from './support';

const DEVICES = Number(process.env.INVENTORY_DEVICES ?? 250_000);
const TICKS = Number(process.env.INVENTORY_TICKS ?? 30);
const MINISTRIES = ['armees', 'culture', 'economie', 'interieur'];

async function main(): Promise<void> {
  const pgDir = mkdtempSync(join(tmpdir(), 'mdm-bench-inventory-'));
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
          inventoryPeriodHours: 24,
          commandRetentionDays: 30,
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

    const seed = progressBar(`seeding ${DEVICES.toLocaleString('en')} iPhones`, DEVICES);
    for (let from = 0; from < DEVICES; from += 25_000) {
      const n = Math.min(25_000, DEVICES - from);
      await db.query(
        `INSERT INTO device (platform, ownership, ministry_code, display_name, model, apple_udid, apns_token, push_magic, apns_topic, last_seen_at, inventory_at)
         SELECT 'ios', 'company', ($3::text[])[1 + g % 4], 'bench iPhone ' || g, 'iPhone15,2', '00008120-' || lpad(upper(to_hex(g)), 16, '0'),
                encode(sha256(('inventory-bench-' || g)::bytea), 'hex'), md5(g::text), 'com.apple.mgmt.bench', now(),
                now() - make_interval(secs => 86400.0 * g / $4)
           FROM generate_series($1::int, $1::int + $2::int - 1) g`,
        [from, n, MINISTRIES, DEVICES],
      );
      seed.tick(n);
    }
    seed.done();
    await db.query(`ANALYZE device`);

    const hygiene = app.get(AppleCommandHygieneService);
    const quota = await hygiene.inventoryQuota();
    const tickMs: number[] = [];
    const asked: number[] = [];
    for (let i = 0; i < TICKS; i++) {
      const start = process.hrtime.bigint();
      const r = await hygiene.tick();
      tickMs.push(Number(process.hrtime.bigint() - start) / 1e6);
      asked.push(r.inventoried);
      // The phones answer within the minute: commands acknowledged, inventory dated now.
      await db.query(
        `WITH done AS (
           UPDATE apple_command SET status = 'acknowledged', answered_at = now() WHERE status = 'queued' RETURNING device_id
         )
         UPDATE device SET inventory_at = now() WHERE id IN (SELECT device_id FROM done)`,
      );
    }

    // Baseline: the nightly job, for as many phones as one tick asks.
    await db.query(
      `UPDATE device SET inventory_at = now() - interval '2 days' WHERE id IN (
                      SELECT id FROM device ORDER BY inventory_at DESC LIMIT $1)`,
      [quota],
    );
    const baselineStart = process.hrtime.bigint();
    const baselineCount = await app.get(MdmProtocolService).queueInventoryRefresh(24, quota);
    const baselineMs = Number(process.hrtime.bigint() - baselineStart) / 1e6;

    const ticks = summary(tickMs);
    const perPhoneNew = tickMs.reduce((a, b) => a + b, 0) / asked.reduce((a, b) => a + b, 0);
    const perPhoneOld = baselineMs / baselineCount;
    const result = {
      date: new Date().toISOString(),
      devices: DEVICES,
      quotaPerMinute: quota,
      phonesPerDayAtThatRate: quota * 1440,
      ticks: TICKS,
      askedPerTick: summary(asked),
      tickMs: ticks,
      budgetUsedP95: `${((ticks.p95 / 60_000) * 100).toFixed(2)} % of the minute`,
      pushes,
      baseline: { phones: baselineCount, ms: Math.round(baselineMs), perPhoneMs: Math.round(perPhoneOld * 100) / 100 },
      perPhoneMs: Math.round(perPhoneNew * 100) / 100,
      ratioPerPhoneNewToBaseline: Math.round((perPhoneNew / perPhoneOld) * 100) / 100,
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await app?.close();
    await pg.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
