/**
 * Mixed agent/approver traffic against a running service, shared by `npm run bench -- load` and
 * api/test/load.e2e-spec.ts (the short CI run).
 *
 * Users: LOAD agents (each with a phone) and approvers per ministry, written straight into the
 * database like the demo seeder does, each with a real RS256 access token signed by the identity
 * provider's key (so the service verifies every request against the provider's JWKS, as in
 * production). Pending requests are seeded so the approvers have a queue from the first second.
 *
 * Traffic (open loop at a fixed rate, see driveLoad): 4 connections in 5 play agents, one session
 * after another, each session as a different agent: GET /me, /me/devices, /devices/:id/effective-policy,
 * /me/exemptions, then every other session POST /exemptions (an app the ministry blocks and allows
 * exempting, one the agent has not asked for yet), otherwise GET /agents/me/effective-policy.
 * The 5th plays an approver of one ministry: GET the pending queue, GET one request,
 * approve it (3 in 4) or deny it with a reason. Requests are handed to one approver only (a shared
 * pool fed by the seed and by the agents' new requests), so no decision meets another one.
 */
import { Agent, request as httpRequest } from 'node:http';
import { importJWK, JWK, SignJWT } from 'jose';

export const LOAD_MINISTRIES = ['interieur', 'armees', 'economie', 'culture'];

interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

export interface IdentityProvider {
  issuer: string;
  audience: string;
  /** The provider's private signing key (JWK, with its kid). */
  privateJwk: JWK;
}

interface LoadAgent {
  token: string;
  ministry: string;
  deviceId: string;
  /** Next app (index in the ministry's exemptable list) this agent may ask an exemption for. */
  nextApp: number;
}

interface LoadApprover {
  token: string;
  ministry: string;
}

export interface LoadPopulation {
  agents: LoadAgent[];
  approvers: LoadApprover[];
  /** Per ministry: apps that are blocked and may be exempted, with the longest period allowed. */
  exemptable: Map<string, { app: string; days: number }[]>;
  /** Per ministry: pending requests not yet handed to an approver. */
  pending: Map<string, string[]>;
}

/** An access token for `sub`, as the identity provider would sign it. */
export async function mint(idp: IdentityProvider, sub: string): Promise<string> {
  const key = await importJWK(idp.privateJwk, 'RS256');
  return new SignJWT({ sub })
    .setProtectedHeader({ alg: 'RS256', kid: idp.privateJwk.kid, typ: 'at+jwt' })
    .setIssuer(idp.issuer)
    .setAudience(idp.audience)
    .setIssuedAt()
    .setExpirationTime('3h')
    .sign(key);
}

/** Blocked apps an agent of each ministry may ask an exemption for, read through the API like the interface does. */
async function exemptableApps(
  baseUrl: string,
  agents: LoadAgent[],
): Promise<Map<string, { app: string; days: number }[]>> {
  const out = new Map<string, { app: string; days: number }[]>();
  for (const ministry of LOAD_MINISTRIES) {
    const agent = agents.find((a) => a.ministry === ministry);
    if (!agent) continue;
    const res = await fetch(`${baseUrl}/agents/me/effective-policy`, {
      headers: { authorization: `Bearer ${agent.token}` },
    });
    if (!res.ok) throw new Error(`effective policy for ${ministry}: HTTP ${res.status} ${await res.text()}`);
    const policy = (await res.json()) as {
      apps: { app: string; action: string; exemptable: boolean; maxExemptionDays: number | null }[];
    };
    const apps = policy.apps
      .filter((a) => a.action === 'block' && a.exemptable)
      .map((a) => ({ app: a.app, days: Math.min(30, a.maxExemptionDays ?? 30) }));
    if (apps.length < 2) throw new Error(`${ministry}: fewer than 2 exemptable apps, the traffic needs some`);
    out.set(ministry, apps);
  }
  return out;
}

/**
 * Writes the users (agents with one phone each, approvers) and, per ministry, `pendingPerMinistry`
 * pending requests for the first exemptable app of as many agents (the agents' own requests start
 * at the second app, so none conflicts). `baseUrl` is the running service.
 */
export async function seedLoadPopulation(
  db: Queryable,
  idp: IdentityProvider,
  baseUrl: string,
  opts: { agentsPerMinistry: number; approversPerMinistry: number; pendingPerMinistry: number },
): Promise<LoadPopulation> {
  const agents: LoadAgent[] = [];
  const approvers: LoadApprover[] = [];
  const agentIds = new Map<string, string[]>();
  for (const ministry of LOAD_MINISTRIES) {
    const rows = (await db.query(
      `WITH m AS (SELECT email_domains[1] AS domain FROM ministry WHERE code = $1),
            a AS (INSERT INTO agent (sub, email, given_name, usual_name, ministry_code)
                  SELECT 'load-agent-' || $1 || '-' || g, 'charge.agent' || g || '@' || m.domain, 'Agent', 'Charge ' || g, $1 FROM generate_series(1, $2::int) g, m
                  RETURNING id, sub),
            r AS (INSERT INTO role_assignment (agent_id, role, ministry_code, granted_by) SELECT id, 'agent', $1, 'load run' FROM a),
            d AS (INSERT INTO device (platform, ownership, agent_id, ministry_code, display_name)
                  SELECT CASE WHEN random() < 0.4 THEN 'ios' ELSE 'android' END, 'company', id, $1, 'Téléphone de ' || sub FROM a RETURNING id, agent_id)
       SELECT a.id, a.sub, d.id AS device FROM a JOIN d ON d.agent_id = a.id ORDER BY a.sub`,
      [ministry, opts.agentsPerMinistry],
    )) as { id: string; sub: string; device: string }[];
    agentIds.set(
      ministry,
      rows.map((r) => r.id),
    );
    for (const row of rows)
      agents.push({ token: await mint(idp, row.sub), ministry, deviceId: row.device, nextApp: 1 });

    const approverRows = (await db.query(
      `WITH m AS (SELECT email_domains[1] AS domain FROM ministry WHERE code = $1),
            a AS (INSERT INTO agent (sub, email, given_name, usual_name, ministry_code)
                  SELECT 'load-approver-' || $1 || '-' || g, 'charge.valideur' || g || '@' || m.domain, 'Valideur', 'Charge ' || g, $1 FROM generate_series(1, $2::int) g, m
                  RETURNING id, sub),
            r AS (INSERT INTO role_assignment (agent_id, role, ministry_code, granted_by)
                  SELECT id, role, $1, 'load run' FROM a, unnest(ARRAY['agent', 'approver']) role)
       SELECT sub FROM a`,
      [ministry, opts.approversPerMinistry],
    )) as { sub: string }[];
    for (const row of approverRows) approvers.push({ token: await mint(idp, row.sub), ministry });
  }

  const exemptable = await exemptableApps(baseUrl, agents);
  const pending = new Map<string, string[]>();
  for (const ministry of LOAD_MINISTRIES) {
    const rows = (await db.query(
      `INSERT INTO exemption (agent_id, ministry_code, app_slug, justification, requested_days, status, requested_at)
       SELECT id, $1, $2, 'Animation du compte institutionnel du ministère (charge)', $3, 'pending', now() - (random() * interval '20 days')
         FROM unnest($4::uuid[]) id
       RETURNING id`,
      [
        ministry,
        exemptable.get(ministry)?.[0].app,
        exemptable.get(ministry)?.[0].days,
        (agentIds.get(ministry) ?? []).slice(0, opts.pendingPerMinistry),
      ],
    )) as { id: string }[];
    pending.set(
      ministry,
      rows.map((r) => r.id),
    );
  }
  return { agents, approvers, exemptable, pending };
}

export interface LoadReport {
  /** Wall time from the first request due to the last answer. */
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  statuses: Record<string, number>;
  /** Status counts per kind of request (e.g. "POST /exemptions"). */
  byRequest: Record<string, Record<string, number>>;
  non2xx: number;
  serverErrors: number;
  /** Connection errors and timeouts: requests that got no answer at all. */
  requestErrors: number;
  firstRequestError?: string;
  decisions: number;
  created: number;
}

interface Context {
  /** Which of the service's addresses this virtual user talks to. */
  target: number;
  role: 'agent' | 'approver';
  step: number;
  agent?: LoadAgent;
  approver?: LoadApprover;
  exemptionId?: string;
  kind: string;
}

export interface PlannedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const JUSTIFICATION = 'Animation du compte officiel du ministère pour la communication institutionnelle.';

/**
 * Drives `rate` requests/s for `seconds` against `baseUrl` (several: each virtual user keeps to one
 * of them, spread evenly, as a load balancer with keep-alive connections does); `onSecond` is
 * called once a second.
 *
 * Open loop, evenly paced: request n is due at start + n/rate, whatever happened to the previous
 * ones, and its latency counts from that instant (a request that waits for a free connection waits
 * on the clock, so a slow server cannot hide behind fewer requests). autocannon's fixed-rate mode
 * was not used: it sends each connection's quota for the second back to back, so all connections
 * fire together at the top of every second, which measures bursts of `connections` simultaneous
 * requests rather than a rate.
 */
export function driveLoad(
  baseUrl: string | string[],
  population: LoadPopulation,
  opts: {
    rate: number;
    seconds: number;
    connections?: number;
    onSecond?: () => void;
    /**
     * One kind of request only, instead of the agent/approver sessions: request `n` of the run, with
     * its kind (for `byRequest`). For the bare-handler baseline and per-endpoint CPU measurements.
     */
    only?: (n: number) => { kind: string; request: PlannedRequest };
  },
): Promise<LoadReport> {
  const connections = opts.connections ?? 50;
  const targets = (Array.isArray(baseUrl) ? baseUrl : [baseUrl]).map((u) => new URL(u));
  const agentPool = new Agent({ keepAlive: true, maxSockets: connections });
  let nextAgent = 0;
  let decisions = 0;
  let created = 0;
  let requestErrors = 0;
  const byRequest: Record<string, Record<string, number>> = {};
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let firstRequestError: string | undefined;

  const json = (method: string, path: string, token: string, body?: unknown): PlannedRequest => ({
    method,
    path,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

  function agentRequest(ctx: Context): PlannedRequest {
    if (ctx.step % 5 === 0) ctx.agent = population.agents[nextAgent++ % population.agents.length];
    const agent = ctx.agent as LoadAgent;
    const session = Math.floor(ctx.step / 5);
    switch (ctx.step++ % 5) {
      case 0:
        return ((ctx.kind = 'GET /me'), json('GET', '/me', agent.token));
      case 1:
        return ((ctx.kind = 'GET /me/devices'), json('GET', '/me/devices', agent.token));
      case 2:
        return (
          (ctx.kind = 'GET /devices/:id/effective-policy'),
          json('GET', `/devices/${agent.deviceId}/effective-policy`, agent.token)
        );
      case 3:
        return ((ctx.kind = 'GET /me/exemptions'), json('GET', '/me/exemptions', agent.token));
      default: {
        const apps = population.exemptable.get(agent.ministry) ?? [];
        if (session % 2 === 0 && agent.nextApp < apps.length) {
          const { app, days } = apps[agent.nextApp++];
          ctx.kind = 'POST /exemptions';
          return json('POST', '/exemptions', agent.token, { app, days, justification: JUSTIFICATION });
        }
        return (
          (ctx.kind = 'GET /agents/me/effective-policy'),
          json('GET', '/agents/me/effective-policy', agent.token)
        );
      }
    }
  }

  function approverRequest(ctx: Context): PlannedRequest {
    const approver = ctx.approver as LoadApprover;
    switch (ctx.step++ % 3) {
      case 0:
        ctx.exemptionId = population.pending.get(approver.ministry)?.shift();
        return (
          (ctx.kind = 'GET /ministries/:code/exemptions'),
          json('GET', `/ministries/${approver.ministry}/exemptions?status=pending`, approver.token)
        );
      case 1:
        if (!ctx.exemptionId)
          return (
            (ctx.kind = 'GET /ministries/:code/exemptions'),
            json('GET', `/ministries/${approver.ministry}/exemptions?status=approved`, approver.token)
          );
        return ((ctx.kind = 'GET /exemptions/:id'), json('GET', `/exemptions/${ctx.exemptionId}`, approver.token));
      default: {
        const id = ctx.exemptionId;
        ctx.exemptionId = undefined;
        if (!id) return ((ctx.kind = 'GET /me/notifications'), json('GET', '/me/notifications', approver.token));
        if (decisions++ % 4 === 3)
          return (
            (ctx.kind = 'POST /exemptions/:id/deny'),
            json('POST', `/exemptions/${id}/deny`, approver.token, {
              reason: 'Le besoin peut être couvert par le compte du service de presse.',
            })
          );
        return (
          (ctx.kind = 'POST /exemptions/:id/approve'),
          json('POST', `/exemptions/${id}/approve`, approver.token, { days: 30 })
        );
      }
    }
  }

  // One virtual user per connection, each going through its sessions one request at a time: 4 in 5
  // play agents, the 5th an approver of one ministry.
  const idle: Context[] = Array.from({ length: connections }, (_, i) =>
    i % 5 === 4
      ? {
          target: i % targets.length,
          role: 'approver',
          step: 0,
          kind: '',
          approver: population.approvers[Math.floor(i / 5) % population.approvers.length],
        }
      : { target: i % targets.length, role: 'agent', step: 0, kind: '' },
  );
  const total = Math.round(opts.rate * opts.seconds);
  const due: number[] = [];
  let scheduled = 0;
  let finished = 0;

  return new Promise((ok) => {
    const start = performance.now();
    let sent = 0;
    const send = (user: Context, dueAt: number) => {
      let planned: PlannedRequest;
      if (opts.only) {
        const one = opts.only(sent++);
        planned = one.request;
        user.kind = one.kind;
      } else planned = user.role === 'agent' ? agentRequest(user) : approverRequest(user);
      const kind = user.kind;
      const done = (status: number | null, body: string) => {
        const latency = performance.now() - dueAt;
        if (status === null) requestErrors++;
        else {
          latencies.push(latency);
          statuses[status] = (statuses[status] ?? 0) + 1;
          const counts = (byRequest[kind] ??= {});
          counts[status] = (counts[status] ?? 0) + 1;
          if (kind === 'POST /exemptions' && status === 201) {
            created++;
            population.pending.get((user.agent as LoadAgent).ministry)?.push((JSON.parse(body) as { id: string }).id);
          }
        }
        finished++;
        idle.push(user);
        dispatch();
        if (finished === total) complete();
      };
      const req = httpRequest(
        {
          agent: agentPool,
          host: targets[user.target].hostname,
          port: targets[user.target].port,
          method: planned.method,
          path: planned.path,
          headers: planned.headers,
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', (e) => {
        firstRequestError ??= e.message;
        done(null, '');
      });
      req.end(planned.body);
    };
    const dispatch = () => {
      while (due.length > 0 && idle.length > 0) send(idle.shift() as Context, due.shift() as number);
    };
    const pacer = setInterval(() => {
      const now = performance.now();
      const owed = Math.min(total, Math.floor(((now - start) / 1000) * opts.rate));
      while (scheduled < owed) due.push(start + (scheduled++ * 1000) / opts.rate);
      dispatch();
    }, 2);
    const ticker = setInterval(() => opts.onSecond?.(), 1000);
    const complete = () => {
      clearInterval(pacer);
      clearInterval(ticker);
      agentPool.destroy();
      const seconds = (performance.now() - start) / 1000;
      const sorted = latencies.sort((a, b) => a - b);
      const at = (p: number) =>
        Math.round(
          (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN) * 10,
        ) / 10;
      ok({
        seconds: Math.round(seconds * 10) / 10,
        requests: sorted.length,
        requestsPerSecond: Math.round((sorted.length / opts.seconds) * 10) / 10,
        latencyMs: { p50: at(50), p95: at(95), p99: at(99), max: at(100) },
        statuses,
        byRequest,
        non2xx: Object.entries(statuses).reduce((n, [code, count]) => n + (Number(code) >= 300 ? count : 0), 0),
        serverErrors: Object.entries(statuses).reduce((n, [code, count]) => n + (Number(code) >= 500 ? count : 0), 0),
        requestErrors,
        firstRequestError,
        decisions: Object.entries(byRequest).reduce(
          (n, [k, counts]) => n + (k.startsWith('POST /exemptions/') ? (counts['200'] ?? 0) : 0),
          0,
        ),
        created,
      });
    };
    if (total === 0) complete();
  });
}
