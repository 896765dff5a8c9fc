/** `npm run bench -- <name>`: runs one benchmark of this folder (`<name>.bench.ts`). */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const available = readdirSync(__dirname)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace('.bench.ts', ''));
const name = process.argv[2];
if (!name || !existsSync(join(__dirname, `${name}.bench.ts`))) {
  console.error(`usage: npm run bench -- <${available.join('|')}>`);
  process.exit(1);
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the bench is chosen at run time
require(join(__dirname, `${name}.bench.ts`));
