import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { OperationObject, PathItemObject, ResponseObject } from '@nestjs/swagger';
import { HTTP_STATUS_OF } from '../common/domain-error';
import { ErrorBody, INTERNAL_ERROR_CODE } from '../common/domain-error.filter';
import { ERROR_DOMAINS_EXTENSION } from './api-errors.decorator';
import { codesOf, ERROR_DOMAINS, ErrorDomain, GUARD_AUTH_CODES, WireCode } from './error-codes';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const REASONS: Record<number, string> = {
  400: 'Invalid request',
  401: 'Not signed in, or the credentials were refused',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Not possible in the current state',
  413: 'Request too large',
  429: 'Too many requests',
  500: 'Internal error (a bug, logged)',
  503: 'A service this one depends on is unavailable',
};

/** `CatalogController.list` → `catalogList`: the generated client's function names. */
function operationId(controllerKey: string, methodKey: string): string {
  const controller = controllerKey.replace(/Controller$/, '');
  return `${controller.charAt(0).toLowerCase()}${controller.slice(1)}${methodKey.charAt(0).toUpperCase()}${methodKey.slice(1)}`;
}

/**
 * The API's OpenAPI document, as served at /api/docs and committed as api/openapi.json: built from
 * the controllers' metadata, with every domain's error codes and each operation's error responses,
 * in a stable order (the same input always gives the same bytes).
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Politique applicative des téléphones de l’État')
    .setDescription(
      'National baseline and ministry app policies, effective policies, exemptions, devices. Bearer: an OIDC access token (ProConnect).',
    )
    .setVersion('0.1.0')
    .addBearerAuth()
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: operationId,
    extraModels: [ErrorBody],
  });
  addErrorCodeSchemas(document);
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) addErrorResponses(method, operation);
    }
  }
  return canonical(document);
}

/** One enum per domain (`CatalogErrorCode`…) and their union, `ErrorCode`. */
function addErrorCodeSchemas(document: OpenAPIObject): void {
  const schemas = (document.components ??= {}).schemas ?? (document.components.schemas = {});
  const refs = [];
  for (const [domain, { schema }] of Object.entries(ERROR_DOMAINS)) {
    const codes = codesOf(domain as ErrorDomain);
    schemas[schema] = {
      type: 'string',
      description: `Error codes of the ${domain} domain, with their HTTP status: ${codes.map((c) => `\`${c.code}\` ${HTTP_STATUS_OF[c.kind]}`).join(', ')}.`,
      enum: codes.map((c) => c.code),
    };
    refs.push({ $ref: `#/components/schemas/${schema}` });
  }
  schemas.ErrorCode = {
    description: 'Every stable error code of the API (`code` of an ErrorBody), plus `internal` for a bug.',
    anyOf: [...refs, { type: 'string', enum: [INTERNAL_ERROR_CODE] }],
  };
}

/** Error responses by status, each naming the codes it may carry; all share the ErrorBody schema. */
function addErrorResponses(method: (typeof METHODS)[number], operation: OperationObject): void {
  const extensions = operation as OperationObject & Record<string, unknown>;
  const domains = (extensions[ERROR_DOMAINS_EXTENSION] as ErrorDomain[] | undefined) ?? [];
  delete extensions[ERROR_DOMAINS_EXTENSION];
  const codes: WireCode[] = [];
  for (const domain of domains) codes.push(...codesOf(domain));
  const signedIn = (operation.security ?? []).length > 0;
  if (signedIn && !domains.includes('auth'))
    codes.push(...codesOf('auth', method === 'get' ? GUARD_AUTH_CODES.filter((c) => c !== 'csrf') : GUARD_AUTH_CODES));
  codes.push(
    ...codesOf(
      'request',
      operation.requestBody ? ['invalid', 'malformed-json', 'too-large', 'rate-limited'] : ['invalid', 'rate-limited'],
    ),
  );
  const byStatus = new Map<number, string[]>();
  for (const { code, kind } of codes) {
    const status = HTTP_STATUS_OF[kind];
    const list = byStatus.get(status) ?? [];
    if (!list.includes(code)) list.push(code);
    byStatus.set(status, list);
  }
  byStatus.set(500, [INTERNAL_ERROR_CODE]);
  for (const [status, list] of byStatus) {
    if (operation.responses[status]) continue;
    operation.responses[status] = {
      description: `${REASONS[status] ?? `HTTP ${status}`}: ${list.map((c) => `\`${c}\``).join(', ')}.`,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
    } satisfies ResponseObject;
  }
}

function sortedObject<T>(entries: [string, T][]): Record<string, T> {
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Paths, operations, responses and schemas in a fixed order, whatever order modules registered them in. */
function canonical(document: OpenAPIObject): OpenAPIObject {
  const paths: Record<string, PathItemObject> = {};
  for (const [path, item] of Object.entries(sortedObject(Object.entries(document.paths)))) {
    const sorted: PathItemObject = {};
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      operation.responses = sortedObject(Object.entries(operation.responses));
      sorted[method] = operation;
    }
    for (const [key, value] of Object.entries(item))
      if (!(METHODS as readonly string[]).includes(key)) (sorted as Record<string, unknown>)[key] = value;
    paths[path] = sorted;
  }
  const components = document.components ?? {};
  return {
    ...document,
    paths,
    components: { ...components, schemas: sortedObject(Object.entries(components.schemas ?? {})) },
  };
}
