import 'reflect-metadata';
import { ConfigError, loadConfig } from '../config/app-config';
import { resolveDatabase } from './database-url';
import { runMigrations } from './data-source';

/**
 * `npm run migration:run`: applies pending migrations as the tables' owner (DATABASE_MIGRATION_URL,
 * or the embedded PostgreSQL), with the same data source definition as the API and the worker.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const db = await resolveDatabase(config);
  try {
    const applied = await runMigrations(db.migrationUrl);
    console.log(applied.length > 0 ? `Migrations applied: ${applied.join(', ')}` : 'The schema is up to date.');
  } finally {
    await db.embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error instanceof Error ? error.message : error);
  process.exit(1);
});
