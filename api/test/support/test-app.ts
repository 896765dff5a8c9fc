import { INestApplication } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createApp } from '../../src/app.factory';
import { asRole, ensureServiceLogin, serviceLoginUrl } from '../../src/database/service-role';
import { AndroidSettings } from '../../src/android/android-settings';
import { AppleSettings } from '../../src/apple/apple-settings';
import type { OidcProfile } from '../../src/auth/jwt-verifier.service';
import { RateLimitSettings } from '../../src/security/rate-limit-settings';
import { WorkerService } from '../../src/worker/worker.service';
import { getToken } from './dev-idp';
import { RecordingAdapter } from './recording-adapter';
import { cloneTemplate } from './test-database';
import { createServerCertificate, createTestCa } from '../../../tools/apple-sim/pki';

export interface TestApp {
  app: INestApplication;
  db: DataSource;
  /** The recording platforms the engine pushes to. */
  adapters: { android: RecordingAdapter; ios: RecordingAdapter };
  /** Base URL when started with `listen` (https:// with `tls`). */
  url: string;
  /** With `tls`: the throwaway CA (PEM) of the server's certificate, for clients to trust. */
  tlsCaPem?: string;
  /** The database as its owner (the migrations' login); `db` runs as the service role. */
  databaseUrl: string;
  issuer: string;
  /** supertest bound to the app, with the bearer token of a demo login (or none). */
  as: (login?: string) => Promise<AuthedRequest>;
  token: (login: string) => Promise<string>;
  /** Stops and drops the database. */
  close: () => Promise<void>;
  /** Stops the app and keeps its database, to start it again with `reuse`. */
  stop: () => Promise<void>;
  dropDatabase: () => Promise<void>;
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type AuthedRequest = Record<Method, (path: string) => request.Test>;

export const BODY_LIMIT_BYTES = 200_000;
export const TEST_RATE_LIMIT: RateLimitSettings = {
  windowSeconds: 60,
  perUser: 1_000_000,
  perIp: 1_000_000,
  perDevice: 1_000_000,
};

/** The real application on its own fresh database, reached over HTTP. */
export interface TestAppOptions {
  reuse?: TestApp;
  /** An existing database, kept at close (a test that runs its own PostgreSQL). */
  databaseUrl?: string;
  worker?: boolean;
  adapters?: { android: RecordingAdapter; ios: RecordingAdapter };
  /** Real Android Management API client (against the fake AMAPI) instead of the recording Android adapter. */
  android?: AndroidSettings;
  /** Listen on a loopback port (for callers outside the process, such as Pub/Sub pushes). */
  listen?: boolean;
  /** The port to listen on (default: any free one). */
  port?: number;
  /**
   * Serve over https on a loopback port (implies `listen`), with a certificate for 127.0.0.1 and
   * localhost from a throwaway CA (`tlsCaPem`), as iPhones reach the service in production.
   * `as()` keeps talking to the app in-process.
   */
  tls?: boolean;
  /** The Apple MDM server (the real Apple adapter replaces the recording iOS one). */
  apple?: AppleSettings;
  /**
   * Browser sign-in through the dev provider's confidential client, redirecting to this base URL:
   * `mdm-api` as a ProConnect service provider (default), or `mdm-api-standard` with profile `standard`.
   */
  browserLogin?: { publicUrl: string; profile?: OidcProfile; clientId?: string; extraScopes?: string[] };
  /** Rate limits; default TEST_RATE_LIMIT, high enough that no other test meets them. */
  rateLimit?: RateLimitSettings;
}

export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL;
  const issuer = process.env.TEST_OIDC_ISSUER;
  if (!adminUrl || !issuer) throw new Error('global setup did not run');
  // `reuse`: a restart of the service on the same database (the previous app must be stopped).
  const adapters = opts.adapters ?? { android: new RecordingAdapter('android'), ios: new RecordingAdapter('ios') };
  const database = opts.reuse
    ? { url: opts.reuse.databaseUrl, drop: opts.reuse.dropDatabase }
    : opts.databaseUrl
      ? { url: opts.databaseUrl, drop: async () => undefined }
      : await cloneTemplate(adminUrl);
  const serviceLogin = process.env.TEST_SERVICE_LOGIN_PASSWORD;
  // A test that runs its own PostgreSQL: the service login is created there as global setup created it here.
  if (serviceLogin && opts.databaseUrl) {
    const admin = new URL(opts.databaseUrl);
    admin.pathname = '/postgres';
    await ensureServiceLogin(admin.toString(), { password: serviceLogin });
  }
  const app = await createApp({
    // The service's restricted role, as in production: every test runs without the right to edit the audit log,
    // logged in as a member of that role only (global setup creates it), never as a superuser or the owner.
    databaseUrl: serviceLogin ? serviceLoginUrl(database.url, { password: serviceLogin }) : asRole(database.url),
    oidc: {
      issuer,
      audience: process.env.TEST_OIDC_AUDIENCE ?? 'mdm-apps-api',
      ...(opts.browserLogin
        ? {
            clientId: opts.browserLogin.clientId ?? 'mdm-api',
            clientSecret: 'dev-secret',
            publicUrl: opts.browserLogin.publicUrl,
          }
        : {}),
      profile: opts.browserLogin?.profile ?? 'proconnect',
      extraScopes: opts.browserLogin?.extraScopes ?? [],
      signingAlg: 'RS256',
    },
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    bodyLimitBytes: BODY_LIMIT_BYTES,
    worker: opts.worker ?? false,
    mail: { mailFrom: 'test@numerique.gouv.fr', publicUrl: 'http://localhost:3000' },
    rollout: { adapters: [...(opts.android ? [] : [adapters.android]), ...(opts.apple ? [] : [adapters.ios])] },
    jobRetryDelaySeconds: 1,
    android: opts.android ?? null,
    apple: opts.apple ?? null,
    rateLimit: opts.rateLimit ?? TEST_RATE_LIMIT,
  });
  await app.init();
  let tls: { server: HttpsServer; caPem: string; url: string } | undefined;
  if (opts.tls) {
    const ca = createTestCa('MDM test TLS CA');
    const certificate = createServerCertificate(ca, ['127.0.0.1', 'localhost']);
    const server = createHttpsServer(
      { key: certificate.keyPem, cert: certificate.certPem },
      app.getHttpAdapter().getInstance(),
    );
    await new Promise<void>((ok, fail) => server.once('error', fail).listen(opts.port ?? 0, '127.0.0.1', ok));
    tls = { server, caPem: ca.certPem, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
  } else if (opts.listen) await app.listen(opts.port ?? 0, '127.0.0.1');
  const closeTls = async () => {
    if (!tls) return;
    tls.server.closeAllConnections();
    await new Promise<void>((ok) => tls?.server.close(() => ok()));
  };
  if (opts.worker) await app.get(WorkerService).start();
  const server = app.getHttpServer();
  const token = (login: string) => getToken(issuer, login);
  const as = async (login?: string): Promise<AuthedRequest> => {
    const header = login ? `Bearer ${await token(login)}` : undefined;
    const make = (method: Method) => (path: string) => {
      const test = request(server)[method](path);
      return header ? test.set('Authorization', header) : test;
    };
    return { get: make('get'), post: make('post'), put: make('put'), patch: make('patch'), delete: make('delete') };
  };
  return {
    app,
    db: app.get(DataSource),
    adapters,
    url: tls ? tls.url : opts.listen ? (await app.getUrl()).replace('[::1]', '127.0.0.1') : '',
    tlsCaPem: tls?.caPem,
    databaseUrl: database.url,
    issuer,
    as,
    token,
    close: async () => {
      await closeTls();
      await app.close();
      await database.drop();
    },
    stop: async () => {
      await closeTls();
      await app.close();
    },
    dropDatabase: database.drop,
  };
}

/** The dev provider's private signing key, to forge tokens that are wrong in exactly one way. */
export function devIdpPrivateJwk(): Record<string, string> {
  const path = process.env.TEST_OIDC_JWKS;
  if (!path) throw new Error('global setup did not run');
  return (JSON.parse(readFileSync(path, 'utf8')) as { keys: Record<string, string>[] }).keys[0];
}

export async function countRows(db: DataSource, table: string): Promise<number> {
  const [{ count }] = (await db.query(`SELECT count(*)::int AS count FROM ${table}`)) as { count: number }[];
  return count;
}
