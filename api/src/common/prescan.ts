import { MAX_INPUT_DEPTH } from './input.pipe';

/**
 * Cheap bounds checked on the raw text before a YAML or XML parser sees it: one linear pass, no
 * allocation. Parsers spend time (and memory) superlinear in nesting: a 400,000-`[` YAML plan held
 * the event loop 3.4 s, 100,000 of them crashed the process in the YAML library's regular
 * expressions, and a 1 MB nested plist took 1.2 s. Legitimate documents are far inside these bounds.
 */

/** YAML: nodes (lines plus commas) at most; a policy of 3,000 rules written in block style (the most the schema allows) is 12,000 to 20,000. */
export const MAX_YAML_ENTRIES = 40_000;
/** YAML: columns of indentation at most (each block level is at least one more). */
export const MAX_YAML_INDENT = 256;
/** Property lists: elements at most; an inventory of 500 apps is about 10,000. */
export const MAX_PLIST_ELEMENTS = 25_000;

/** What makes a YAML text too costly to parse, or null. */
export function yamlShapeProblem(text: string): string | null {
  let depth = 0;
  let entries = 1;
  let indent = 0;
  let lineStart = true;
  let comment = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      entries++;
      lineStart = true;
      indent = 0;
      comment = false;
      continue;
    }
    if (comment) continue;
    if (lineStart) {
      // Indentation, and the indicators of compact nested sequences ("- - - x") that nest without indenting.
      if (c === 32 || c === 9 || ((c === 45 || c === 63) && text.charCodeAt(i + 1) === 32)) {
        if (++indent > MAX_YAML_INDENT)
          return `The document is indented more than ${MAX_YAML_INDENT} columns deep: flatten it.`;
        continue;
      }
      lineStart = false;
    }
    if (c === 35 /* # */ && (i === 0 || text.charCodeAt(i - 1) <= 32)) {
      comment = true;
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > MAX_INPUT_DEPTH) return `The document is nested too deeply (more than ${MAX_INPUT_DEPTH} levels).`;
    } else if (c === 93 /* ] */ || c === 125 /* } */) {
      if (depth > 0) depth--;
    } else if (c === 44 /* , */) {
      entries++;
    }
    if (entries > MAX_YAML_ENTRIES)
      return `The document has more than ${MAX_YAML_ENTRIES.toLocaleString('en')} entries: no policy is that large.`;
  }
  return null;
}

/** What makes a property list (XML) too costly to parse, or null: nesting and number of elements. */
export function plistShapeProblem(text: string): string | null {
  let depth = 0;
  let elements = 0;
  for (let i = text.indexOf('<'); i !== -1; i = text.indexOf('<', i + 1)) {
    const next = text.charCodeAt(i + 1);
    if (next === 33 /* ! */ || next === 63 /* ? */) continue;
    if (next === 47 /* / */) {
      if (text.startsWith('array', i + 2) || text.startsWith('dict', i + 2)) depth = Math.max(0, depth - 1);
      continue;
    }
    if (++elements > MAX_PLIST_ELEMENTS)
      return `The property list has more than ${MAX_PLIST_ELEMENTS.toLocaleString('en')} elements.`;
    if (text.startsWith('array', i + 1) || text.startsWith('dict', i + 1)) {
      const end = text.indexOf('>', i);
      // <array/> and <dict/> open nothing.
      if (end !== -1 && text.charCodeAt(end - 1) === 47) continue;
      if (++depth > MAX_INPUT_DEPTH)
        return `The property list is nested too deeply (more than ${MAX_INPUT_DEPTH} levels).`;
    }
  }
  return null;
}
