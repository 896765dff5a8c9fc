import { ArgumentMetadata, BadRequestException, ValidationPipe, ValidationPipeOptions } from '@nestjs/common';

/** Deeper than any request of this API; class-transformer recurses per level and would overflow the stack on ~10,000. */
export const MAX_INPUT_DEPTH = 32;

/**
 * Names of Object.prototype's members (constructor, __proto__, toString, valueOf...) and
 * "prototype": class-transformer drops some silently (they would slip past "unknown field") and an
 * object whose valueOf/toString is not a function throws a TypeError when converted to a number.
 */
const PROTOTYPE_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/**
 * Half of a UTF-16 surrogate pair without its other half ("\ud800" in JSON, YAML or a plist): no
 * character at all. PostgreSQL's jsonb refuses it (the audit log stores before/after as jsonb) and
 * text would silently turn it into U+FFFD.
 */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What is wrong with one string, or null. */
function textProblem(text: string, what: string): string | null {
  if (text.includes('\u0000')) return `${what} a NUL character (\\u0000), which is not accepted.`;
  if (LONE_SURROGATE.test(text))
    return `${what} a lone UTF-16 surrogate (such as \\ud800), which is not a character: send valid Unicode text.`;
  return null;
}

/**
 * What is wrong with a decoded input (body, query, path parameter), or null: nesting beyond
 * MAX_INPUT_DEPTH, a NUL character (PostgreSQL text cannot store it and fails the query), a lone
 * surrogate (not a character; jsonb refuses it), a prototype key. Iterative, so that hostile depth
 * cannot overflow the stack here either.
 */
export function hostileInputProblem(value: unknown, where: string): string | null {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value, depth: 0, path: where }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; depth: number; path: string };
    if (typeof item.value === 'string') {
      const problem = textProblem(item.value, `${item.path} contains`);
      if (problem) return problem;
      continue;
    }
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.depth >= MAX_INPUT_DEPTH) return `${where} is nested too deeply (more than ${MAX_INPUT_DEPTH} levels).`;
    for (const key of Object.keys(item.value)) {
      const problem = textProblem(key, `${item.path} has a field name with`);
      if (problem) return problem;
      if (PROTOTYPE_KEYS.has(key)) return `${item.path} has a field named "${key}", which is not accepted.`;
      stack.push({
        value: (item.value as Record<string, unknown>)[key],
        depth: item.depth + 1,
        path: Array.isArray(item.value) ? `${item.path}[${key}]` : `${item.path}.${key}`,
      });
    }
  }
  return null;
}

function nameOf(metadata: ArgumentMetadata): string {
  if (metadata.type === 'body') return 'The request body';
  if (metadata.type === 'query' && !metadata.data) return 'The query string';
  return `${metadata.type === 'param' ? 'The path parameter' : metadata.type === 'query' ? 'The query parameter' : 'The input'} ${metadata.data ?? ''}`.trim();
}

/** The global pipe: refuses hostile input (see hostileInputProblem) with a 400, then validates DTOs as usual. */
export class InputPipe extends ValidationPipe {
  constructor(options: ValidationPipeOptions) {
    super(options);
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query' || metadata.type === 'param') {
      const problem = hostileInputProblem(value, nameOf(metadata));
      if (problem) throw new BadRequestException(problem);
    }
    return super.transform(value, metadata);
  }
}
