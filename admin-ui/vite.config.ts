import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** The API under development (`npm start`); MDM_API_URL points the dev server and `vite preview` elsewhere. */
const apiTarget = process.env.MDM_API_URL ?? 'http://127.0.0.1:3000';

/**
 * Paths served by the API. The interface itself routes in the URL fragment (#/agent, #/it…), so
 * none of these collide with a page of the interface.
 */
const apiPrefixes = [
  '/auth',
  '/me',
  '/ministries',
  '/catalog',
  '/policies',
  '/policy-plans',
  '/devices',
  '/exemptions',
  '/rollouts',
  '/compliance',
  '/agents',
  '/audit',
  '/android',
  '/apple',
  '/health',
  '/api/docs',
];

/** Vite's and Rolldown's notices only with LOG_LEVEL=debug (npm start stays quiet); errors always. */
const debug = process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace';

const proxy = Object.fromEntries(apiPrefixes.map((prefix) => [prefix, { target: apiTarget, changeOrigin: false }]));

export default defineConfig({
  root,
  // Relative asset paths: the build works whether the API serves it at / or under a sub-path.
  base: './',
  // Vite's own transformer compiles TSX with React's automatic runtime: no Babel plugin needed
  // (@vitejs/plugin-react 6 pulls Babel 8 peers that conflict with jest's Babel 7).
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    // The DSFR's icon sheet names a thousand SVG icons: inlined, they made the stylesheet 2 MB, read
    // and matched on every page load. As files, the browser fetches only the few a page shows.
    assetsInlineLimit: (file) => (file.endsWith('.svg') ? false : undefined),
    rolldownOptions: {
      // The DSFR components start with "use client" (for React Server Components), meaningless in this bundle.
      onLog: (level, log, handler) => {
        if (!debug && log.code === 'MODULE_LEVEL_DIRECTIVE') return;
        handler(level, log);
      },
      checks: { bundlerTimings: debug },
    },
  },
  server: { host: '127.0.0.1', port: 5173, strictPort: true, proxy },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true, proxy },
});
