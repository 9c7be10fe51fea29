/**
 * $number substitution in regexp:/pcre: results (regexp_table(5), pcre_table(5)
 * "TEXT SUBSTITUTION"), with Postfix's mac_parse() rules: $1, ${1}, $(1) insert
 * the text matched by that group (nothing when the group did not take part or
 * matched the empty string); $$ is a "$". Anything else after "$" is an error,
 * so "$1x" (the name "1x"), a lone "$" and "${1?x}" are rejected as Postfix does.
 * rule_eval.ts expands them at lookup time.
 */

/** Literal text and group numbers, in order. */
export type Replacement = (string | number)[];

const NAME_CHAR = /[A-Za-z0-9_]/;

/** Parse a result; throws an Error whose message is Postfix's wording. */
export function parseReplacement(text: string): Replacement {
  const parts: Replacement = [];
  let literal = "";
  let i = 0;
  const index = (name: string): number => {
    if (!/^\d+$/.test(name)) throw new Error(`non-numeric replacement index "${name}"`);
    const n = Number(name);
    if (n < 1) throw new Error(`out of range replacement index "${name}"`);
    return n;
  };
  while (i < text.length) {
    const ch = text[i];
    if (ch !== "$") {
      literal += ch;
      i++;
      continue;
    }
    const next = text[i + 1];
    let name: string;
    if (next === "$") {
      literal += "$";
      i += 2;
      continue;
    } else if (next === "{" || next === "(") {
      const close = next === "{" ? "}" : ")";
      let depth = 0;
      let end = i + 1;
      for (; end < text.length; end++) {
        if (text[end] === next) depth++;
        else if (text[end] === close && --depth === 0) break;
      }
      if (end >= text.length) throw new Error(`truncated macro reference: "${text}"`);
      name = text.slice(i + 2, end);
      i = end + 1;
    } else {
      let end = i + 1;
      while (end < text.length && NAME_CHAR.test(text[end])) end++;
      name = text.slice(i + 1, end);
      if (name === "") throw new Error(`empty macro name: "${text}"`);
      i = end;
    }
    if (literal) parts.push(literal);
    literal = "";
    parts.push(index(name));
  }
  if (literal) parts.push(literal);
  return parts;
}

/** The largest group number a replacement uses (0 when it uses none). */
export function maxGroup(replacement: Replacement): number {
  return Math.max(0, ...replacement.filter((p): p is number => typeof p === "number"));
}
