import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { OpenAPIObject, OperationObject, ParameterObject, ReferenceObject, ResponseObject } from '@nestjs/swagger';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { HTTP_STATUS_OF } from '../src/common/domain-error';
import { ERROR_DOMAINS, ErrorDomain } from '../src/openapi/error-codes';
import { startTestApp, TestApp } from './support/test-app';

const ROOT = resolve(__dirname, '../..');
const SPEC = 'api/openapi.json';
const CLIENT = 'admin-ui/src/client';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

function filesUnder(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? filesUnder(path) : [path];
    })
    .sort();
}

function operations(spec: OpenAPIObject): { name: string; operation: OperationObject }[] {
  return Object.entries(spec.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ name: `${method.toUpperCase()} ${path}`, operation }] : [];
    }),
  );
}

const committed = JSON.parse(readFileSync(join(ROOT, SPEC), 'utf8')) as OpenAPIObject;

describe('the API contract (api/openapi.json and the interface client generated from it)', () => {
  it('is up to date: npm run openapi writes exactly the committed spec and client', () => {
    const out = mkdtempSync(join(tmpdir(), 'mdm-openapi-'));
    try {
      execFileSync(process.execPath, ['-r', '@swc-node/register', 'api/src/openapi/generate.ts', '--out', out], {
        cwd: ROOT,
        stdio: 'pipe',
      });
      const fresh = readFileSync(join(out, SPEC), 'utf8');
      if (fresh !== readFileSync(join(ROOT, SPEC), 'utf8')) {
        throw new Error(`${SPEC} is stale: run npm run openapi (and commit ${SPEC} and ${CLIENT}/)`);
      }
      const expected = filesUnder(join(out, CLIENT)).map((f) => relative(join(out, CLIENT), f));
      const actual = filesUnder(join(ROOT, CLIENT)).map((f) => relative(join(ROOT, CLIENT), f));
      const stale = [...new Set([...expected, ...actual])].filter(
        (f) =>
          !expected.includes(f) ||
          !actual.includes(f) ||
          readFileSync(join(out, CLIENT, f), 'utf8') !== readFileSync(join(ROOT, CLIENT, f), 'utf8'),
      );
      if (stale.length > 0) {
        throw new Error(`${CLIENT}/ is stale (${stale.join(', ')}): run npm run openapi`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);

  it('gives every operation its answers: a schema for each 2xx body, Location on redirects, ErrorBody on errors', () => {
    const problems: string[] = [];
    const ids = new Set<string>();
    for (const { name, operation } of operations(committed)) {
      const id = operation.operationId ?? '';
      if (!id || ids.has(id)) problems.push(`${name}: no or duplicate operationId`);
      ids.add(id);
      const responses = Object.entries(operation.responses) as [string, ResponseObject | ReferenceObject][];
      const success = responses.filter(([status]) => /^[23]\d\d$/.test(status));
      if (success.length === 0) problems.push(`${name}: no 2xx/3xx response declared`);
      for (const [status, response] of responses) {
        if ('$ref' in response) continue;
        const media = Object.entries(response.content ?? {});
        if (status === '204') {
          if (media.length > 0) problems.push(`${name}: 204 with a body`);
        } else if (/^2/.test(status)) {
          if (media.length === 0)
            problems.push(`${name}: ${status} without a content type (add @ApiOkResponse({ type }))`);
          for (const [type, content] of media)
            if (!content.schema) problems.push(`${name}: ${status} ${type} without a schema`);
        } else if (/^3/.test(status)) {
          if (!response.headers?.Location) problems.push(`${name}: ${status} without a Location header`);
        } else {
          const schema = response.content?.['application/json']?.schema;
          if (!schema || !('$ref' in schema) || schema.$ref !== '#/components/schemas/ErrorBody')
            problems.push(`${name}: ${status} is not an ErrorBody`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(ids.size).toBeGreaterThanOrEqual(60);
  });

  it("lists every domain's error codes, and documents each code with the kind it is thrown with", () => {
    const schemas = committed.components?.schemas ?? {};
    for (const [domain, { schema, kinds }] of Object.entries(ERROR_DOMAINS)) {
      expect(schemas[schema]).toMatchObject({ type: 'string', enum: Object.keys(kinds).map((c) => `${domain}.${c}`) });
    }
    // Each throw site with literal arguments agrees with its domain's table (the document's statuses come from it).
    const domainOf: Record<string, ErrorDomain> = {
      AndroidError: 'android',
      AppleError: 'apple',
      AuditError: 'audit',
      AuthError: 'auth',
      CatalogError: 'catalog',
      DevicesError: 'device',
      DirectoryError: 'directory',
      ExemptionError: 'exemption',
      NotificationError: 'notification',
      PolicyError: 'policy',
      RolloutError: 'rollout',
    };
    const sites: string[] = [];
    const wrong: string[] = [];
    for (const file of filesUnder(join(ROOT, 'api/src')).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(file, 'utf8');
      for (const [, cls, code, kind] of source.matchAll(/new (\w+Error)\(\s*'([a-z-]+)',\s*'([a-z-]+)'/g)) {
        const domain = domainOf[cls];
        if (!domain) continue;
        sites.push(`${domain}.${code}`);
        const documented = (ERROR_DOMAINS[domain].kinds as Record<string, string>)[code];
        if (documented !== kind)
          wrong.push(`${relative(ROOT, file)}: ${domain}.${code} thrown as ${kind}, documented as ${documented}`);
      }
    }
    expect(wrong).toEqual([]);
    // Every domain error class has its codes in the document (register a new one in api/src/openapi/error-codes.ts).
    const unregistered: string[] = [];
    for (const file of filesUnder(join(ROOT, 'api/src')).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(file, 'utf8');
      if (!/extends DomainError\b/.test(source)) continue;
      for (const [, domain] of source.matchAll(/readonly domain = '([a-z-]+)'/g))
        if (!(domain in ERROR_DOMAINS)) unregistered.push(`${relative(ROOT, file)}: ${domain}`);
    }
    expect(unregistered).toEqual([]);
    expect(sites.length).toBeGreaterThan(50);
    expect(HTTP_STATUS_OF.conflict).toBe(409);
  });

  it('describes what the service really answers: every JSON GET validates against its schema, no field left out', async () => {
    const t = await startTestApp();
    try {
      const problems = await validateAnswers(t);
      expect(problems).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('is the document the running service serves at /api/docs-json', async () => {
    const t = await startTestApp();
    try {
      const served = (await (await t.as()).get('/api/docs-json').expect(200)).body as OpenAPIObject;
      // The test service runs without Android and Apple: their routes are absent, everything else is identical.
      const platform = /^\/(android|apple|mdm)\/|\/(android|apple)\//;
      const shared = Object.keys(committed.paths).filter((p) => !platform.test(p));
      expect(Object.keys(served.paths).sort()).toEqual(shared.sort());
      for (const path of shared) expect(served.paths[path]).toEqual(committed.paths[path]);
    } finally {
      await t.close();
    }
  });
});

/**
 * OpenAPI 3.0 schemas as JSON Schema for ajv, strict: `nullable` becomes a null alternative, and an
 * object with declared properties allows no other (a field the service returns but the schema
 * omits fails the validation).
 */
function strictSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const { nullable, example: _example, ...rest } = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest))
    out[key] =
      key === 'properties'
        ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, strictSchema(v)]))
        : strictSchema(value);
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  if (nullable === true) return { anyOf: [{ type: 'null' }, out] };
  return out;
}

/** Calls every JSON GET the test service serves, as a national admin, and validates each answer. */
async function validateAnswers(t: TestApp): Promise<string[]> {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addSchema({ $id: 'api', components: { schemas: strictSchema(committed.components?.schemas ?? {}) } });
  const validate = (schema: unknown, body: unknown): string | null => {
    const check = ajv.compile({
      $id: `answer-${Math.random()}`,
      ...(strictSchema(JSON.parse(JSON.stringify(schema).replace(/"#\/components/g, '"api#/components'))) as object),
    });
    if (check(body)) return null;
    return (check.errors ?? [])
      .slice(0, 3)
      .map(
        (e) =>
          `${e.instancePath || '(body)'} ${e.message}${e.params.additionalProperty ? ` "${e.params.additionalProperty}"` : ''}`,
      )
      .join('; ');
  };
  const admin = await t.as('admin.national');
  const get = async (path: string) => (await admin.get(path).expect(200)).body;
  const me = await get('/me');
  const devices = (await get('/ministries/interieur/devices')).items as { id: string }[];
  const rollouts = (await get('/rollouts')) as { id: string }[];
  const current = await get('/policies/interieur');
  const planned = await (
    await t.as('it.interieur')
  )
    .post('/policies/interieur/plan')
    .send({ ...current.content, comment: 'contract test' })
    .expect(201);
  const exemptions = (await get('/ministries/interieur/exemption-register')) as { id: string }[];
  const ids: Record<string, string | undefined> = {
    '/agents/{id}': me.id,
    '/agents/{id}/effective-policy': me.id,
    '/devices/{id}': devices[0]?.id,
    '/devices/{id}/effective-policy': devices[0]?.id,
    '/rollouts/{id}': rollouts[0]?.id,
    '/policy-plans/{id}': planned.body.id,
    '/exemptions/{id}': exemptions[0]?.id,
  };
  const values: Record<string, string> = {
    code: 'interieur',
    scope: 'interieur',
    slug: 'tiktok',
    version: '1',
    from: '1',
    to: '1',
  };
  const problems: string[] = [];
  const planSchema = committed.paths['/policies/{scope}/plan'].post?.responses['201'] as ResponseObject;
  const planProblem = validate(planSchema.content?.['application/json'].schema, planned.body);
  if (planProblem) problems.push(`POST /policies/{scope}/plan: ${planProblem}`);
  let checked = 0;
  for (const [path, item] of Object.entries(committed.paths)) {
    const response = item.get?.responses['200'] as ResponseObject | undefined;
    const schema = response?.content?.['application/json']?.schema;
    if (!item.get || !schema) continue;
    const parameters = (item.get.parameters ?? []) as ParameterObject[];
    const query = new URLSearchParams();
    let url = path;
    let missing = false;
    for (const p of parameters.filter((q) => q.required)) {
      const enumValues = (p.schema as { enum?: string[] } | undefined)?.enum;
      const value = p.name === 'id' ? ids[path] : (values[p.name] ?? enumValues?.[0]);
      if (value === undefined) missing = true;
      else if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(value));
      else query.set(p.name, value);
    }
    if (missing) continue;
    const res = await admin.get(query.size ? `${url}?${query}` : url);
    // Android and Apple are not configured in the test service: their routes are not mounted, or answer
    // that the platform is not configured (platforms-off.e2e-spec.ts).
    if (res.status === 404 && res.body.code === 'request.not-found') continue;
    if (res.status === 409 && /^(android|apple)\.not-configured$/.test(String(res.body.code))) continue;
    if (res.status !== 200) {
      problems.push(`GET ${url}: ${res.status} ${res.body.code}`);
      continue;
    }
    checked++;
    const problem = validate(schema, res.text === '' ? null : res.body);
    if (problem) problems.push(`GET ${path}: ${problem}`);
  }
  if (checked < 30) problems.push(`only ${checked} answers checked`);
  return problems;
}
