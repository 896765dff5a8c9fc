/**
 * The interface's French for the API's errors (admin-ui/src/errors.ts) against the API's own list of
 * codes (api/src/openapi/error-codes.ts): every code a person may meet has its sentence even before
 * the client is generated again, and no sentence slips back to the API's English or an id.
 */
import { FRENCH_BY_CODE, frenchError } from '../../admin-ui/src/errors';
import { codesOf, ERROR_DOMAINS, ErrorDomain } from '../src/openapi/error-codes';

const ALL = (Object.keys(ERROR_DOMAINS) as ErrorDomain[]).flatMap((d) => codesOf(d).map((c) => c.code));
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const ENGLISH = /\b(the|this|is|not|only|already|unknown|cannot|must|Détail)\b/i;

describe('the API’s errors in the interface’s French', () => {
  it('has a French sentence for every code the API has', () => {
    expect(ALL.length).toBeGreaterThan(100);
    expect(ALL.filter((code) => !FRENCH_BY_CODE[code])).toEqual([]);
  });

  it('says it in French, with neither English nor an id', () => {
    for (const sentence of Object.values(FRENCH_BY_CODE)) {
      expect(sentence).not.toMatch(ENGLISH);
      expect(sentence).not.toMatch(UUID);
    }
  });

  it('names a refused field with its rule, and falls back on the status otherwise', () => {
    expect(frenchError(400, 'request.invalid', 'days must not be greater than 365')).toBe(
      '« Durée » doit être au plus 365.',
    );
    expect(frenchError(400, 'request.invalid', 'q must be at most 100 characters')).toBe(
      '« Recherche » doit compter au plus 100 caractères.',
    );
    expect(frenchError(400, 'request.invalid', 'property foo should not exist')).toBe(
      'La demande est invalide : vérifiez les valeurs saisies.',
    );
    const unknown = frenchError(409, 'somedomain.new-code', 'Device 5b0e7c1c-0a4e-4b4f-9d7e-0d0c2a1b3c4d is busy');
    expect(unknown).not.toMatch(UUID);
    expect(unknown).not.toMatch(ENGLISH);
    expect(frenchError(502, 'request.http-502', 'Bad Gateway')).toMatch(/^Le service a rencontré une erreur/);
    expect(frenchError(0, 'network', 'Failed to fetch')).toMatch(/^Le service est injoignable/);
  });
});
