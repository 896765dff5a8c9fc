/**
 * `npm run bench -- abm`: Automated Device Enrollment at ministry scale. ABM_DEVICES (default
 * 100,000) iPhones are assigned to the ministry's MDM server in the fake ABM (tools/fake-abm); the
 * service (AbmService, real PostgreSQL) imports the server token, then one sync fetches them all
 * (pages of 1,000), defines the enrollment profile and assigns it to every one of them (batches of
 * 1,000), each page written with its audit event. A second sync then takes ABM_NEW (default 1,000)
 * new devices through the sync cursor.
 *
 * Baseline, in the same run: the same API calls (the fetch pages and the assignment batches) made
 * by the bare client (AbmClient, the same OAuth session and HTTP) against a second fake holding as
 * many devices, with no database: the ratio is what storing, auditing and choosing the devices
 * costs on top of the API itself. The fakes run in this process (their work is counted in both).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { createApp } from '../api/src/app.factory';
import { AbmClient, AbmDevicePage } from '../api/src/apple/abm/abm-client';
import { AbmService } from '../api/src/apple/abm/abm.service';
import { decryptServerToken } from '../api/src/apple/abm/server-token';
import { AuditService } from '../api/src/audit/audit.service';
import { runMigrations } from '../api/src/database/data-source';
import { startEmbeddedPostgres } from '../api/src/database/embedded-postgres';
import { seedDemoData } from '../api/src/demo/demo-seeder';
import { DirectoryService } from '../api/src/directory/directory.service';
import { importPoliciesIfEmpty } from '../api/src/policies/as-code/import-policies';
import { startFakeAbm } from '../tools/fake-abm/fake-abm';
import { benchAppOptions } from './support';

const DEVICES = Number(process.env.ABM_DEVICES ?? 100_000);
const NEW = Number(process.env.ABM_NEW ?? 1000);

async function baseline(certPem: string, keyPem: string): Promise<number> {
  const fake = await startFakeAbm();
  fake.addDevices(DEVICES);
  const credentials = decryptServerToken(fake.issueServerToken(certPem), certPem, keyPem);
  const client = new AbmClient(fake.url, credentials);
  const started = performance.now();
  const serials: string[] = [];
  let page = await client.call<AbmDevicePage>('POST', '/server/devices', { limit: 1000 });
  serials.push(...(page.devices ?? []).map((d) => d.serial_number));
  while (page.more_to_follow) {
    page = await client.call<AbmDevicePage>('POST', '/server/devices', { limit: 1000, cursor: page.cursor });
    serials.push(...(page.devices ?? []).map((d) => d.serial_number));
  }
  const { profile_uuid } = await client.call<{ profile_uuid: string }>('POST', '/profile', {
    profile_name: 'baseline',
    url: 'https://mdm.example.gouv.fr/enroll',
    is_supervised: true,
    is_mdm_removable: false,
  });
  for (let i = 0; i < serials.length; i += 1000)
    await client.call('PUT', '/profile/devices', { profile_uuid, devices: serials.slice(i, i + 1000) });
  const ms = performance.now() - started;
  await fake.stop();
  return ms;
}

async function main(): Promise<void> {
  const fake = await startFakeAbm();
  const pgDir = mkdtempSync(join(tmpdir(), 'mdm-bench-abm-'));
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
          serverBaseUrl: 'https://mdm.example.gouv.fr',
          apnsHost: '127.0.0.1',
          apnsPort: 9,
          identityFrom: 'signature',
          proxyCertHeader: 'X-Client-Certificate',
          abmUrl: fake.url,
        },
      }),
    );
    await app.init();
    const db = app.get(DataSource);
    await importPoliciesIfEmpty(app, resolve(__dirname, '../policies'));
    await seedDemoData(db, app.get(AuditService));
    const admin = await app.get(DirectoryService).principalFor({ sub: 'demo-admin-national' });
    const abm = app.get(AbmService);
    const server = await abm.createCertificate(admin, 'interieur');
    const [{ key_pem }] = (await db.query(`SELECT key_pem FROM abm_server WHERE ministry_code = 'interieur'`)) as {
      key_pem: string;
    }[];
    await abm.importToken(admin, 'interieur', fake.issueServerToken(server.certificatePem));
    fake.addDevices(DEVICES);

    const baseMs = await baseline(server.certificatePem, key_pem);
    const started = performance.now();
    const first = await abm.sync(admin, 'interieur');
    const syncMs = performance.now() - started;
    fake.addDevices(NEW, 'iPhone 16');
    const again = performance.now();
    const second = await abm.sync(admin, 'interieur');
    const incrementalMs = performance.now() - again;
    const [{ events }] = (await db.query(
      `SELECT count(*)::int AS events FROM audit_event WHERE action LIKE 'apple.abm-%'`,
    )) as { events: number }[];

    console.log(`\nABM sync — ${new Date().toISOString().slice(0, 10)}, ${DEVICES.toLocaleString('en')} devices`);
    console.log(
      `  first sync (fetch ${first.devicesRead.toLocaleString('en')}, assign ${first.assigned.toLocaleString('en')}): ${(syncMs / 1000).toFixed(1)} s`,
    );
    console.log(`  bare API calls, same pages and batches (baseline): ${(baseMs / 1000).toFixed(1)} s`);
    console.log(`  ratio service / baseline: ${(syncMs / baseMs).toFixed(2)}`);
    console.log(
      `  incremental sync (${second.devicesRead.toLocaleString('en')} changes read, ${second.assigned} assigned): ${(incrementalMs / 1000).toFixed(2)} s`,
    );
    console.log(`  audit events written: ${events} (one per page and batch)`);
    if (first.assigned !== DEVICES || fake.assignments.size !== DEVICES + NEW)
      throw new Error(
        `expected every device assigned, got ${first.assigned} then ${fake.assignments.size} in the fake`,
      );
  } finally {
    await app?.close();
    await pg.stop();
    await fake.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
