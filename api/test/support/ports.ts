/** The browser sign-in test listens here: its callback must be a redirect URI the dev provider knows. */
export const SESSION_TEST_PORT = 38123;

/** The browser (Playwright) scenarios listen here, for the same reason. */
export const UI_TEST_PORT = 38124;
