/** Unit tests (pure logic) and e2e tests (HTTP against a real PostgreSQL) in one run. */
module.exports = {
  rootDir: '.',
  testMatch: ['<rootDir>/api/**/*.spec.ts', '<rootDir>/api/test/**/*.e2e-spec.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  // NestJS 12 and jose ship ESM only; jest (before Node 24.9) cannot require ESM, so swc turns them into CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!(jose|@nestjs|oidc-provider)/)'],
  testEnvironment: 'node',
  globalSetup: '<rootDir>/api/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/api/test/support/global-teardown.ts',
  testTimeout: 60000,
};
