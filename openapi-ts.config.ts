import { defineConfig } from '@hey-api/openapi-ts';

/**
 * The admin interface's typed client, generated from the API's committed OpenAPI document.
 * Run `npm run openapi` (it writes api/openapi.json first); never edit admin-ui/src/client/ by hand.
 */
export default defineConfig({
  input: 'api/openapi.json',
  output: { path: 'admin-ui/src/client', tsConfigPath: 'admin-ui/tsconfig.json' },
  parser: { filters: { orphans: true } },
  plugins: ['@hey-api/typescript', '@hey-api/sdk', '@hey-api/client-fetch'],
});
