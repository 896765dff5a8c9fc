import demoUsers from '../demo/demo-users.json';
import { demoAccountsSummary, formatStartBanner, StartBanner } from './start-banner';

const banner: StartBanner = {
  url: 'http://localhost:3000',
  seconds: 8.42,
  adminUiBuilt: true,
  demo: { issuer: 'http://127.0.0.1:3001', users: demoUsers.users },
  issuer: 'http://127.0.0.1:3001',
  data: 'embedded PostgreSQL in /var/tmp/mdm-apps-etat-0123456789ab/pg, port 54329 (the postgres user it runs as cannot reach /root/projects/mdm-apps-etat/.data/pg)',
  notes: [
    ['Policies', 'imported 6 policies, 5 ministries and 70 apps from /root/projects/mdm-apps-etat/policies'],
    ['Phones', 'simulated: they apply what they are sent (DEVICE_SIMULATOR=true, demo only)'],
  ],
  logLevel: 'info',
};

describe('the npm start banner', () => {
  const text = formatStartBanner(banner);
  const lines = text.split('\n');

  it('fits on a screen: at most 20 lines of at most 100 columns', () => {
    expect(lines.length).toBeLessThanOrEqual(20);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
  });

  it('says what to open, how to sign in, where the data is and how to stop', () => {
    expect(text).toContain('ready in 8.4 s');
    expect(text).toMatch(/Admin UI +http:\/\/localhost:3000\n/);
    expect(text).toContain('http://localhost:3000/api/docs');
    expect(text).toContain('http://localhost:3000/health');
    expect(text).toContain('http://127.0.0.1:3001');
    expect(text).toContain('/var/tmp/mdm-apps-etat-0123456789ab/pg');
    expect(text).toContain('Ctrl+C');
    expect(text).toContain('LOG_LEVEL=debug');
  });

  it('names every demo account, by its login or as <kind>.<m> with <m> listed', () => {
    const summary = demoAccountsSummary(demoUsers.users).join('\n');
    const ministries = /<m> = (.+)$/m.exec(summary)?.[1].split(', ') ?? [];
    for (const { login } of demoUsers.users) {
      const [kind, m] = login.split('.');
      const named = summary.includes(login) || (summary.includes(`${kind}.<m>`) && ministries.includes(m));
      expect({ login, named }).toEqual({ login, named: true });
    }
    expect(summary).toContain('admin.national (national admin)');
    expect(summary).toContain('it.<m> (IT admin)');
    expect(summary).toContain('nouveau.culture (first sign-in)');
  });

  it('with a real issuer, points to it instead of demo accounts; with debug logs, no hint to turn them on', () => {
    const real = formatStartBanner({
      ...banner,
      demo: undefined,
      issuer: 'https://auth.agentconnect.gouv.fr/api/v2',
      logLevel: 'debug',
    });
    expect(real).toContain('Sign in     with https://auth.agentconnect.gouv.fr/api/v2');
    expect(real).not.toContain('agent.<m>');
    expect(real).not.toContain('LOG_LEVEL=debug');
  });

  it('says when the admin UI is not built', () => {
    expect(formatStartBanner({ ...banner, adminUiBuilt: false })).toContain('(not built: npm run build)');
  });
});
