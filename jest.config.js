/** Unit tests (pure logic) and e2e tests (HTTP against a real PostgreSQL) in one run. */
module.exports = {
  rootDir: '.',
  testMatch: ['<rootDir>/api/**/*.spec.ts', '<rootDir>/api/test/**/*.e2e-spec.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  // jose ships ESM only; let swc turn it into CommonJS for jest's module loader.
  transformIgnorePatterns: ['/node_modules/(?!(jose)/)'],
  testEnvironment: 'node',
  globalSetup: '<rootDir>/api/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/api/test/support/global-teardown.ts',
  testTimeout: 60000,
};
