import { isUuid } from './uuid';

/**
 * A keyset position, opaque to clients: the sort key of the last row of a page and its id (the tie
 * breaker). Lists page on `(key, id) > (cursor.key, cursor.id)`, so a page stays right while rows
 * arrive and leave, where an offset would skip or repeat them.
 */
export interface KeysetCursor {
  key: string;
  id: string;
}

export function encodeCursor(c: KeysetCursor): string {
  return Buffer.from(JSON.stringify([c.key, c.id])).toString('base64url');
}

/** The position, or null when the text is not a cursor this list produced (`validKey` checks its key). */
export function decodeCursor(cursor: string, validKey: (key: string) => boolean = () => true): KeysetCursor | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'string' ||
    !validKey(parsed[0]) ||
    typeof parsed[1] !== 'string' ||
    !isUuid(parsed[1])
  )
    return null;
  return { key: parsed[0], id: parsed[1] };
}

/** The sentence of every invalid-cursor error. */
export const INVALID_CURSOR = 'cursor must be the nextCursor of a previous page of this list, unchanged.';

/** `ILIKE` pattern matching `q` anywhere, its wildcards taken literally. */
export function containsPattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

// French letters with diacritics and the letter each folds to: "lea" finds "Léa", as a person expects.
const ACCENTED = 'àâäáãåçéèêëíìîïñóòôöõúùûüýÿœæ';
const PLAIN = 'aaaaaaceeeeiiiinooooouuuuyyoa';

/** SQL folding `expr` (a text expression) for a search: lower case, French diacritics removed. */
export function foldedSql(expr: string): string {
  return `translate(lower(${expr}), '${ACCENTED}', '${PLAIN}')`;
}

/** `containsPattern` of `q` folded as `foldedSql` folds the column. */
export function foldedPattern(q: string): string {
  return containsPattern(
    q
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase(),
  );
}
