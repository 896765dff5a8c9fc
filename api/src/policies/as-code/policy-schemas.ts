import { APP_CATEGORIES, MAX_EXEMPTION_DAYS_LIMIT, PERSONAL_SIDES, POLICY_MODES } from '../policy.types';

/** JSON schemas of the policy-as-code files; the API validates request bodies with the same ones. */

const slug = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' };
const reverseDns = { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]*(\\.[A-Za-z0-9_-]+)+$' };

const rule = (actions: readonly string[]) => ({
  type: 'object',
  additionalProperties: false,
  required: ['app', 'action', 'exemptable'],
  properties: {
    app: slug,
    action: { enum: actions },
    exemptable: { type: 'boolean' },
    maxExemptionDays: { type: 'integer', minimum: 1, maximum: MAX_EXEMPTION_DAYS_LIMIT },
    legalBasis: { type: 'string', minLength: 3, maxLength: 500 },
  },
  if: { properties: { exemptable: { const: true } } },
  then: { required: ['maxExemptionDays'] },
  else: { not: { required: ['maxExemptionDays'] } },
});

/** An iOS version from 15 on ("16", "17.4"): below 15 apps cannot be blocked by bundle ID at all. */
export const MINIMUM_IOS_PATTERN = '^(1[5-9]|[2-9][0-9])(\\.[0-9]{1,2})?$';

// The personal side is governed by an allow-list only; a blocklist already blocks its apps there too.
const personalSideOnlyInAllowlist = {
  if: { properties: { mode: { const: 'blocklist' } } },
  then: { properties: { personalSide: false } },
};

export const policyContentSchema = {
  $id: 'policy-content',
  type: 'object',
  additionalProperties: false,
  required: ['mode', 'rules'],
  properties: {
    mode: { enum: POLICY_MODES },
    personalSide: { enum: PERSONAL_SIDES },
    description: { type: 'string', maxLength: 4000 },
    minimumIos: { type: 'string', pattern: MINIMUM_IOS_PATTERN },
    comment: { type: 'string', maxLength: 1000 },
    rules: { type: 'array', maxItems: 3000, items: rule(['block', 'allow', 'require']) },
  },
  ...personalSideOnlyInAllowlist,
};

export const nationalFileSchema = {
  $id: 'national-file',
  type: 'object',
  additionalProperties: false,
  required: ['scope', 'mode', 'rules'],
  properties: {
    scope: { const: 'national' },
    mode: { const: 'blocklist' },
    description: { type: 'string' },
    minimumIos: { type: 'string', pattern: MINIMUM_IOS_PATTERN },
    rules: {
      type: 'array',
      maxItems: 3000,
      items: {
        ...rule(['block', 'require']),
        required: ['app', 'action', 'exemptable', 'legalBasis'],
      },
    },
  },
};

export const ministryFileSchema = {
  $id: 'ministry-file',
  type: 'object',
  additionalProperties: false,
  required: ['code', 'name', 'emailDomains', 'mode', 'rules'],
  properties: {
    code: { type: 'string', pattern: '^[a-z][a-z0-9-]{1,31}$', not: { const: 'national' } },
    name: { type: 'string', minLength: 3 },
    emailDomains: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[a-z0-9.-]+\\.[a-z]{2,}$' } },
    // The ministry's entries in the Sirene register: SIRET of an establishment (14 digits) or SIREN of a
    // whole organisation (9 digits). ProConnect sends the agent's SIRET: it decides the ministry first.
    siret: { type: 'array', items: { type: 'string', pattern: '^([0-9]{9}|[0-9]{14})$' } },
    mode: { enum: POLICY_MODES },
    personalSide: { enum: PERSONAL_SIDES },
    description: { type: 'string' },
    minimumIos: { type: 'string', pattern: MINIMUM_IOS_PATTERN },
    rules: { type: 'array', maxItems: 3000, items: rule(['block', 'allow', 'require']) },
  },
  ...personalSideOnlyInAllowlist,
};

export const catalogAppSchema = {
  $id: 'catalog-app',
  type: 'object',
  additionalProperties: false,
  required: ['slug', 'name', 'category', 'android', 'ios'],
  properties: {
    slug,
    name: { type: 'string', minLength: 1, maxLength: 200 },
    category: { enum: APP_CATEGORIES },
    publisher: { type: 'string', maxLength: 200 },
    android: { type: 'array', maxItems: 20, uniqueItems: true, items: reverseDns },
    ios: { type: 'array', maxItems: 20, uniqueItems: true, items: reverseDns },
    web: { type: 'string', format: 'uri', pattern: '^https://' },
  },
};

export const catalogFileSchema = {
  $id: 'catalog-file',
  type: 'object',
  additionalProperties: false,
  required: ['apps'],
  properties: { apps: { type: 'array', items: { $ref: 'catalog-app' } } },
};
