import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module';
import { androidSettingsFrom, appleSettingsFrom, auditSettingsFrom, loadConfig } from '../config/app-config';
import { resolveDatabase } from '../database/database-url';
import { runMigrations } from '../database/data-source';
import { checkServiceLogin } from '../database/service-role';
import { createLogger, PinoNestLogger } from '../observability/logger';
import { WorkerService } from './worker.service';

/** `npm run worker`: the job consumers alone, no HTTP. Start as many as needed on one database. */
async function main(): Promise<void> {
  const config = loadConfig();
  const audit = auditSettingsFrom(config);
  const db = await resolveDatabase(config);
  await runMigrations(db.migrationUrl);
  const login = await checkServiceLogin(db.url);
  if (login.superuser || login.owner) {
    const why = `DATABASE_URL logs in as "${login.login}", ${login.superuser ? 'a superuser' : 'the owner of the tables'}: a compromised worker could rewrite the audit log. Give it a login that is only a member of ${config.DATABASE_ROLE}.`;
    if (config.NODE_ENV === 'production') throw new Error(why);
    console.warn(`Warning: ${why}`);
  }
  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot({
      databaseUrl: db.url,
      dbPoolSize: config.DB_POOL_SIZE,
      oidc: { issuer: config.OIDC_ISSUER ?? 'http://127.0.0.1:3001', audience: config.OIDC_AUDIENCE },
      worker: true,
      mail: {
        smtpUrl: config.SMTP_URL,
        mailFrom: config.MAIL_FROM,
        publicUrl: config.PUBLIC_URL ?? `http://localhost:${config.PORT}`,
      },
      rollout: { simulateDevices: config.DEVICE_SIMULATOR },
      android: androidSettingsFrom(config),
      apple: appleSettingsFrom(config),
      audit,
    }),
    { logger: new PinoNestLogger(createLogger(config.LOG_LEVEL)) },
  );
  app.enableShutdownHooks();
  await app.get(WorkerService).start();
  const stop = async () => {
    await app.close();
    await db.embedded?.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
