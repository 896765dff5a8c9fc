/** What `npm start` prints once the service answers: what to open, how to sign in, where the data is, how to stop. */
export interface StartBanner {
  /** The address people use (PUBLIC_URL, else http://localhost:PORT). */
  url: string;
  seconds: number;
  adminUiBuilt: boolean;
  /** The development provider's address and its demo accounts; undefined with a real issuer. */
  demo?: { issuer: string; users: DemoAccount[] };
  issuer: string;
  /** From resolveDatabase: the embedded PostgreSQL's folder and port, or DATABASE_URL's host. */
  data: string;
  /** Lines worth reading once, each "Label: text" (first import, policies/ differing from the database…). */
  notes: [label: string, text: string][];
  logLevel: string;
}

export interface DemoAccount {
  login: string;
  roles: { role: string; ministry?: string }[];
}

const WIDTH = 100;
const INDENT = '  ';
const LABEL = 12;

const ROLE_LABELS: [role: string, label: string][] = [
  ['national-admin', 'national admin'],
  ['it-admin', 'IT admin'],
  ['approver', 'approver'],
  ['agent', 'agent'],
];

function roleLabel(account: DemoAccount): string {
  const roles = new Set(account.roles.map((r) => r.role));
  return ROLE_LABELS.find(([role]) => roles.has(role))?.[1] ?? 'first sign-in';
}

/**
 * The demo accounts in a few words: `agent.interieur`, `agent.armees`… become `agent.<m>` with the
 * list of `<m>` once; an account alone of its kind is shown as is.
 */
export function demoAccountsSummary(users: DemoAccount[]): string[] {
  const byKind = new Map<string, DemoAccount[]>();
  for (const user of users) {
    const kind = user.login.includes('.') ? user.login.slice(0, user.login.indexOf('.')) : user.login;
    byKind.set(kind, [...(byKind.get(kind) ?? []), user]);
  }
  const ministries: string[] = [];
  const families: string[] = [];
  const singles: string[] = [];
  // Every account is an agent: only the other roles are named, and not twice (`approver.<m>`).
  const named = (name: string, label: string, kind: string) =>
    label === kind || label === 'agent' ? name : `${name} (${label})`;
  for (const [kind, accounts] of byKind) {
    const label = roleLabel(accounts[0]);
    if (accounts.length > 1 && accounts.every((a) => roleLabel(a) === label)) {
      for (const a of accounts) {
        const m = a.login.slice(kind.length + 1);
        if (!ministries.includes(m)) ministries.push(m);
      }
      families.push(named(`${kind}.<m>`, label, kind));
    } else for (const a of accounts) singles.push(named(a.login, roleLabel(a), kind));
  }
  const lines: string[] = [];
  if (families.length > 0) lines.push(`${families.join(', ')}, <m> = ${ministries.join(', ')}`);
  if (singles.length > 0) lines.push(singles.join(', '));
  return lines;
}

/** Words wrapped to the banner's width, after the label column. */
function wrap(text: string): string[] {
  const room = WIDTH - INDENT.length - LABEL;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

function row(label: string, ...texts: string[]): string[] {
  return texts.flatMap(wrap).map((line, i) => `${INDENT}${(i === 0 ? label : '').padEnd(LABEL)}${line}`);
}

export function formatStartBanner(b: StartBanner): string {
  const lines = [
    '',
    `${INDENT}Politique applicative des téléphones de l'État: ready in ${b.seconds.toFixed(1)} s`,
    '',
    ...row('Admin UI', b.adminUiBuilt ? b.url : `${b.url} (not built: npm run build)`),
    ...row('API docs', `${b.url}/api/docs`),
    ...row('Health', `${b.url}/health`),
    ...(b.demo
      ? [
          ...row('Sign in', `"Se connecter", then a demo account on ${b.demo.issuer} (no password):`),
          ...row('', ...demoAccountsSummary(b.demo.users)),
        ]
      : row('Sign in', `with ${b.issuer}`)),
    ...row('Data', b.data),
    ...b.notes.flatMap(([label, text]) => row(label, text)),
    ...row(
      'Stop',
      `Ctrl+C (the data is kept)${b.logLevel === 'debug' || b.logLevel === 'trace' ? '' : '  ·  every log line: LOG_LEVEL=debug npm start'}`,
    ),
    '',
  ];
  return lines.join('\n');
}
