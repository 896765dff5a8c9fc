import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { catalogAppSchema, catalogFileSchema, ministryFileSchema, nationalFileSchema, policyContentSchema } from './policy-schemas';

export interface SchemaProblem {
  /** JSON pointer into the document, e.g. /rules/3/action */
  path: string;
  message: string;
}

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
addFormats(ajv);
ajv.addSchema(catalogAppSchema);

const validators = {
  catalog: ajv.compile(catalogFileSchema),
  catalogApp: ajv.getSchema('catalog-app') as ValidateFunction,
  national: ajv.compile(nationalFileSchema),
  ministry: ajv.compile(ministryFileSchema),
  policyContent: ajv.compile(policyContentSchema),
};
export type SchemaName = keyof typeof validators;

function explain(error: ErrorObject): string {
  switch (error.keyword) {
    case 'enum':
      return `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
    case 'additionalProperties':
      return `unknown field "${(error.params as { additionalProperty: string }).additionalProperty}"`;
    case 'required':
      return `missing required field "${(error.params as { missingProperty: string }).missingProperty}"`;
    case 'false schema':
      // The only field forbidden by a condition (policy-schemas.ts).
      return 'is only allowed in allowlist mode (a blocklist blocks the same apps on the personal side)';
    case 'not':
      return error.instancePath.endsWith('/code') ? 'must not be "national"' : 'maxExemptionDays is only allowed when exemptable is true';
    default:
      return error.message ?? 'is invalid';
  }
}

/** Validates `value` against one of the policy schemas; problems name the path and what is wrong. */
export function validateAgainst(schema: SchemaName, value: unknown): SchemaProblem[] {
  const validate = validators[schema];
  if (validate(value)) return [];
  const problems = (validate.errors ?? [])
    // `if/then/else` reports its own wrapper error besides the real one.
    .filter((e) => e.keyword !== 'if')
    .map((e) => ({ path: e.instancePath || '/', message: explain(e) }));
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path} ${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
