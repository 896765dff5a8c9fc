/**
 * `npm run openapi`: writes api/openapi.json from the controllers' metadata (no database needed),
 * then the interface's typed client (admin-ui/src/client/) from it, with openapi-ts.config.ts.
 * `--out <dir>` writes both under another root instead (the freshness test compares them).
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createOpenApiDocument } from './document';
import { createPreviewApp } from './preview-app';

export const ROOT = resolve(__dirname, '../../..');
export const SPEC_PATH = 'api/openapi.json';
export const CLIENT_DIR = 'admin-ui/src/client';

async function main(): Promise<void> {
  const at = process.argv.indexOf('--out');
  const out = at > 0 ? resolve(process.argv[at + 1]) : ROOT;
  const app = await createPreviewApp();
  const document = createOpenApiDocument(app);
  await app.close();
  const spec = resolve(out, SPEC_PATH);
  mkdirSync(dirname(spec), { recursive: true });
  writeFileSync(spec, `${JSON.stringify(document, null, 2)}\n`);
  const client = resolve(out, CLIENT_DIR);
  rmSync(client, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [
      resolve(ROOT, 'node_modules/@hey-api/openapi-ts/bin/run.js'),
      '--file',
      resolve(ROOT, 'openapi-ts.config.ts'),
      '--input',
      spec,
      '--output',
      client,
      '--silent',
      '--no-log-file',
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
  console.log(`Wrote ${resolve(out, SPEC_PATH)} (${Object.keys(document.paths).length} paths) and ${client}/`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
