/**
 * Postfix's `{ ... }` grouping, used in table specs (inline:{...},
 * static:{...}, regexp:{ {rule}, ... }) and in parameter values that list
 * several tables (postconf(5): "{ }" protects white space and commas).
 */

import { trimSpace } from "./lines.ts";

const SEPARATORS = ", \t\r\n";

/** Split on runs of commas/white space, except inside balanced braces (mystrtokq). */
export function splitOutsideBraces(text: string): string[] {
  const tokens: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "{") depth++;
    else if (ch === "}" && depth > 0) depth--;
    if (depth === 0 && SEPARATORS.includes(ch)) {
      if (current !== "") tokens.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  if (current !== "") tokens.push(current);
  return tokens;
}

/** Index just after the brace that closes the one at `start`, or -1 (balpar). */
function closingBrace(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return i + 1;
  }
  return -1;
}

/**
 * The text inside `{ ... }` with the white space after "{" and before "}"
 * removed (extpar with EXTPAR_FLAG_STRIP). Returns an error text when the
 * braces do not balance or something follows the closing brace.
 */
export function unbrace(text: string): { inner: string } | { error: string } {
  if (!text.startsWith("{")) return { error: `missing '{' in "${text}"` };
  const end = closingBrace(text, 0);
  if (end < 0) return { error: `missing '}' in "${text}"` };
  if (end !== text.length) return { error: `syntax error after '}' in "${text}"` };
  return { inner: trimSpace(text.slice(1, end - 1)) };
}
