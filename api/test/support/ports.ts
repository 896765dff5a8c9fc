import { AddressInfo, createServer } from 'node:net';

/** The browser sign-in test listens here: its callback must be a redirect URI the dev provider knows. */
export const SESSION_TEST_PORT = 38123;

/** The browser (Playwright) scenarios listen here, for the same reason. */
export const UI_TEST_PORT = 38124;

/** A port nobody listens on right now, on 127.0.0.1 (for a server the test starts itself). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => ok(port));
    });
  });
}
