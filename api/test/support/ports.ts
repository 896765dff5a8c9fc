/** The browser sign-in test listens here: its callback must be a redirect URI the dev provider knows. */
export const SESSION_TEST_PORT = 38123;
