import { createConnection } from 'node:net';
import { AppConfig } from '../config/app-config';
import { RunningPostgres, startEmbeddedPostgres } from './embedded-postgres';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * DATABASE_URL when set; otherwise the embedded PostgreSQL under EMBEDDED_PG_DIR, started here,
 * or reused when another process of ours (the API while the CLI runs) already started it.
 */
export async function resolveDatabase(config: AppConfig): Promise<{ url: string; embedded?: RunningPostgres }> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL };
  if (await portOpen(config.EMBEDDED_PG_PORT)) {
    return { url: `postgres://mdm:mdm-local@127.0.0.1:${config.EMBEDDED_PG_PORT}/mdm` };
  }
  const embedded = await startEmbeddedPostgres({ dir: config.EMBEDDED_PG_DIR, port: config.EMBEDDED_PG_PORT, database: 'mdm' });
  return { url: embedded.url, embedded };
}
