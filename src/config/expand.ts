/**
 * Postfix parameter expansion: $name, ${name}, ${name?text}, ${name:text},
 * ${name?{text}:{text}} (postconf(5) "parameter expansion"). Pure: the caller
 * supplies how to read a parameter's (already expanded) value.
 */

export type Resolve = (name: string) => string | undefined;

export class ExpansionError extends Error {
  constructor(readonly param: string) {
    super(`undefined parameter "$${param}"`);
  }
}

const NAME = /^[A-Za-z0-9_]+/;

/** Index of the `}` closing the `{` at `open`, honouring nesting; -1 if none. */
function closingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

/** A branch of a conditional: `{text}` braces are stripped. */
function branch(text: string): string {
  const t = text.trim();
  return t.startsWith("{") && t.endsWith("}") ? t.slice(1, -1) : text;
}

/**
 * Expands `text`. Unknown names throw ExpansionError unless `keep` lists
 * them (those are left as written for a daemon to expand at use time).
 */
export function expand(text: string, resolve: Resolve, keep: readonly string[] = []): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf("$", i);
    if (dollar < 0) return out + text.slice(i);
    out += text.slice(i, dollar);
    const rest = text.slice(dollar + 1);
    if (rest.startsWith("$")) { // "$$" is a literal dollar
      out += "$";
      i = dollar + 2;
      continue;
    }
    if (rest.startsWith("{")) {
      const end = closingBrace(text, dollar + 1);
      if (end < 0) throw new ExpansionError(rest);
      const inner = text.slice(dollar + 2, end);
      out += expandBraced(inner, resolve, keep, text.slice(dollar, end + 1));
      i = end + 1;
      continue;
    }
    const m = NAME.exec(rest);
    if (!m) { // a lone "$" stays as is
      out += "$";
      i = dollar + 1;
      continue;
    }
    out += lookup(m[0], resolve, keep, "$" + m[0]);
    i = dollar + 1 + m[0].length;
  }
  return out;
}

function lookup(name: string, resolve: Resolve, keep: readonly string[], literal: string) {
  const value = resolve(name);
  if (value !== undefined) return value;
  if (keep.includes(name)) return literal;
  throw new ExpansionError(name);
}

function expandBraced(inner: string, resolve: Resolve, keep: readonly string[], literal: string) {
  const m = NAME.exec(inner);
  if (!m) throw new ExpansionError(inner);
  const name = m[0];
  const op = inner[name.length];
  if (op === undefined) return lookup(name, resolve, keep, literal);
  if (keep.includes(name)) return literal;
  const value = resolve(name) ?? "";
  const body = inner.slice(name.length + 1);
  // ${name?{a}:{b}}: a when name is non-empty, else b.
  if (op === "?" && body.trimStart().startsWith("{")) {
    const start = body.indexOf("{");
    const end = closingBrace(body, start);
    const yes = body.slice(start + 1, end);
    const after = body.slice(end + 1).trimStart();
    const no = after.startsWith(":") ? branch(after.slice(1)) : "";
    return expand(value ? yes : no, resolve, keep);
  }
  if (op === "?") return value ? expand(branch(body), resolve, keep) : "";
  if (op === ":") return value ? "" : expand(branch(body), resolve, keep);
  throw new ExpansionError(inner);
}
