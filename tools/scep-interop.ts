/**
 * Interop of the SCEP endpoint with micromdm's scepclient (Debian package `scep`), run by .ci/run
 * after `npm test` through tools/scep-interop.sh: the service on an embedded PostgreSQL in a temp
 * folder (APPLE_IDENTITY_DELIVERY=scep), an enrollment link's signed profile downloaded over HTTP for
 * its one-time challenge, `scepclient` enrolled with it, and its certificate checked: issued by the
 * device CA, for the key scepclient made, recorded as an identity of that link and audited. The same
 * challenge a second time must be refused, writing nothing. Exits non-zero with the reason otherwise.
 *
 * SCEPCLIENT names the binary (default: scepclient on the PATH).
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { createApp } from '../api/src/app.factory';
import { runMigrations } from '../api/src/database/data-source';
import { startEmbeddedPostgres } from '../api/src/database/embedded-postgres';
import { parseMobileconfig, payloadsOf, PlistDict } from './apple-sim/mobileconfig';
import { createMdmPushCertificate, createTestCa } from './apple-sim/pki';

const run = promisify(execFile);
const SCEPCLIENT = process.env.SCEPCLIENT || 'scepclient';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`scep interop: ${what}`);
  console.log(`  ok  ${what}`);
}

async function scepclient(
  url: string,
  challenge: string,
  dir: string,
  name: string,
): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(
      SCEPCLIENT,
      [
        '-server-url',
        url,
        '-challenge',
        challenge,
        '-private-key',
        join(dir, `${name}.key`),
        '-certificate',
        join(dir, `${name}.pem`),
        '-cn',
        `scepclient ${name}`,
        '-organization',
        'DINUM',
        '-country',
        'FR',
        '-debug',
      ],
      { timeout: 60_000 },
    );
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mdm-scep-interop-'));
  process.env.AUDIT_KEY_FILE ??= join(dir, 'audit.key');
  process.env.AUDIT_CHECKPOINT_DIR ??= join(dir, 'audit-checkpoints');
  writeFileSync(process.env.AUDIT_KEY_FILE, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const pg = await startEmbeddedPostgres({
    dir: join(dir, 'pg'),
    port: await freePort(),
    database: 'scep_interop',
    persistent: false,
  });
  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  try {
    await runMigrations(pg.url);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    app = await createApp({
      databaseUrl: pg.url,
      oidc: { issuer: 'http://127.0.0.1:9', audience: 'scep-interop' },
      logLevel: 'warn',
      bodyLimitBytes: 1_000_000,
      worker: false,
      mail: { mailFrom: 'scep@localhost', publicUrl: base },
      rollout: {},
      apple: {
        serverBaseUrl: base,
        apnsHost: '127.0.0.1',
        apnsPort: 9,
        identityFrom: 'signature',
        proxyCertHeader: 'X-Client-Certificate',
        identityDelivery: 'scep',
      },
    });
    await app.listen(port, '127.0.0.1');
    const db = app.get(DataSource);

    // An enrollment link of a ministry, as IT creates one (the push certificate a test one).
    const push = createMdmPushCertificate(createTestCa('Apple Sim Root CA'));
    await db.query(`INSERT INTO ministry (code, name) VALUES ('interop', 'Interop')`);
    await db.query(
      `INSERT INTO apple_push_certificate (topic, cert_pem, key_pem, not_after, uploaded_by) VALUES ($1, $2, $3, now() + interval '1 year', 'scep interop')`,
      [push.topic, push.certPem, push.keyPem],
    );
    const token = randomBytes(24).toString('base64url');
    const [link] = (await db.query(
      `INSERT INTO apple_enrollment (token, ministry_code, expires_at, created_by) VALUES ($1, 'interop', now() + interval '1 hour', 'scep interop') RETURNING id`,
      [token],
    )) as { id: string }[];

    console.log(`SCEP interop: ${SCEPCLIENT} against ${base}/apple/scep`);
    const res = await fetch(`${base}/apple/enroll/${token}`);
    check(res.status === 200, `the enrollment profile is served (HTTP ${res.status})`);
    const profile = parseMobileconfig(Buffer.from(await res.arrayBuffer()));
    check(profile.signed && profile.signature?.ok === true, 'the profile is signed and its signature holds');
    const scep = payloadsOf(profile.profile).find((p) => p.PayloadType === 'com.apple.security.scep');
    const content = scep?.PayloadContent as PlistDict | undefined;
    const challenge = content?.Challenge;
    const url = content?.URL;
    check(
      typeof challenge === 'string' && url === `${base}/apple/scep`,
      'the profile carries the SCEP URL and a challenge',
    );
    if (typeof challenge !== 'string' || typeof url !== 'string') return;

    const first = await scepclient(url, challenge, dir, 'first');
    if (!first.ok) console.error(first.output);
    check(first.ok, 'scepclient enrolls with the challenge');
    const cert = new X509Certificate(readFileSync(join(dir, 'first.pem')));
    const [ca] = (await db.query(`SELECT cert_pem FROM apple_ca WHERE id = 1`)) as { cert_pem: string }[];
    const caCert = new X509Certificate(ca.cert_pem);
    check(cert.checkIssued(caCert) && cert.verify(caCert.publicKey), 'its certificate chains to the device CA');
    check(
      cert.checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'first.key')))),
      'the certificate is for the key scepclient generated',
    );
    const serial = cert.serialNumber.toLowerCase();
    const identity = (await db.query(`SELECT enrollment_id FROM apple_identity WHERE serial = $1`, [serial])) as {
      enrollment_id: string;
    }[];
    check(identity[0]?.enrollment_id === link.id, 'it is an identity of the link');
    const audited = (await db.query(
      `SELECT count(*)::int AS n FROM audit_event WHERE action = 'apple.scep-identity-issued' AND entity_id = $1`,
      [link.id],
    )) as { n: number }[];
    check(audited[0].n === 1, 'its issuance is audited');

    const counts = async () =>
      JSON.stringify(
        await db.query(
          `SELECT (SELECT count(*) FROM apple_identity) AS identities, (SELECT count(*) FROM audit_event) AS audit`,
        ),
      );
    const before = await counts();
    const second = await scepclient(url, challenge, dir, 'second');
    check(!second.ok, 'the same challenge a second time is refused');
    check(/badRequest|FAILURE|failInfo/i.test(second.output), 'scepclient reports the CertRep failure');
    check((await counts()) === before, 'the refusal writes nothing');
    console.log('SCEP interop: passed');
  } finally {
    await app?.close();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
