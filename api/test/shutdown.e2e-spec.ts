/**
 * Shutdown drains before the database pool closes (issue 16, item 10): requests in flight are
 * answered and jobs in flight finish, instead of failing with "Connection terminated" when the
 * process stops (a deployment rolling its replicas does this all day).
 */
import { Client } from 'pg';
import { JobQueueService, QUEUES } from '../src/jobs/job-queue.service';
import { startTestApp, TestApp } from './support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ listen: true, worker: true });
});
afterAll(async () => {
  await t.dropDatabase();
});

async function eventually<T>(what: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await what();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('answers the requests and finishes the jobs in flight, then closes the pool', async () => {
  await inFlight({ requests: 5 });
}, 60_000);

it('finishes a job in flight even when no request is (nothing else holds the pool open)', async () => {
  t = await startTestApp({ reuse: t, listen: true, worker: true });
  await inFlight({ requests: 0 });
}, 60_000);

async function inFlight(opts: { requests: number }): Promise<void> {
  const owner = new Client({ connectionString: t.databaseUrl });
  await owner.connect();
  const errors: string[] = [];
  try {
    // Everything that reads exemptions waits on this lock: requests and a job are held in flight.
    await owner.query('BEGIN');
    await owner.query('LOCK TABLE exemption IN ACCESS EXCLUSIVE MODE');
    const token = await t.token('agent.interieur');
    const requests = Array.from({ length: opts.requests }, () =>
      fetch(`${t.url}/me/exemptions`, { headers: { authorization: `Bearer ${token}` } }).then(
        (r) => r.status,
        (e: Error) => {
          errors.push(e.message);
          return 0;
        },
      ),
    );
    const jobId = await t.app.get(JobQueueService).boss.send(QUEUES.exemptionsExpire, {});
    const state = (id: string) =>
      owner
        .query<{ state: string; output: unknown }>('SELECT state, output FROM pgboss.job WHERE id = $1', [id])
        .then((r) => r.rows[0]);
    await eventually(async () => ((await state(jobId as string))?.state === 'active' ? true : undefined));
    await eventually(async () => {
      const { rows } = await owner.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'exemption'::regclass AND NOT granted`,
      );
      return rows[0].n >= opts.requests + 1 ? true : undefined;
    });

    const closing = t.app.close();
    await new Promise((r) => setTimeout(r, 1000));
    await owner.query('COMMIT');
    await closing;

    expect(await Promise.all(requests)).toEqual(requests.map(() => 200));
    expect(errors).toEqual([]);
    expect(await state(jobId as string)).toMatchObject({ state: 'completed' });
  } finally {
    await owner.query('ROLLBACK').catch(() => undefined);
    await owner.end();
  }
}
