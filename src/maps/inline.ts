/**
 * inline: and static: tables (postconf(5) / DATABASE_README "inline",
 * "static"). Both live entirely in the spec.
 *
 * inline:{ key=value, { key = text with spaces, or commas }, ... }
 *   - entries are separated by commas or white space outside braces;
 *   - `{ key = value }` allows white space and commas in the value, with the
 *     white space around key, "=" and value removed;
 *   - keys are folded to lower case; a later duplicate replaces an earlier one.
 * static:value or static:{ text with spaces } always returns the value.
 */

import { splitOutsideBraces, unbrace } from "./braces.ts";
import { isSpace, trimSpace } from "./lines.ts";
import { fixedTable } from "./fixed_table.ts";
import { tableError } from "./table_error.ts";
import type { LookupTable } from "./types.ts";

/** split_nameval(): "name = value" with white space allowed around "=". */
function splitNameValue(text: string): { name: string; value: string } | { error: string } {
  const start = [...text].findIndex((ch) => !isSpace(ch));
  if (start < 0) return { error: "missing attribute name" };
  let end = start;
  while (end < text.length && !isSpace(text[end]) && text[end] !== "=") end++;
  const rest = text.slice(end).replace(/^[ \t\r\n\v\f]*/, "");
  if (!rest.startsWith("=")) return { error: "missing '=' after attribute name" };
  return { name: text.slice(start, end), value: trimSpace(rest.slice(1)) };
}

export function parseInline(spec: string, name: string): Map<string, string> {
  const fail = (why: string) => tableError({ spec }, `${why}; need "inline:{name=value...}"`);
  const body = unbrace(name);
  if ("error" in body) throw fail(body.error);
  const entries = new Map<string, string>();
  for (const token of splitOutsideBraces(body.inner)) {
    let text = token;
    if (token.startsWith("{")) {
      const inner = unbrace(token);
      if ("error" in inner) throw fail(inner.error);
      text = inner.inner;
    }
    const pair = splitNameValue(text);
    if ("error" in pair) throw fail(`${pair.error}: "${token}"`);
    if (pair.value === "") throw fail(`empty value for "${pair.name}"`);
    entries.set(pair.name.toLowerCase(), pair.value);
  }
  if (entries.size === 0) throw fail("empty table");
  return entries;
}

export function openInline(spec: string, name: string): LookupTable {
  const entries = parseInline(spec, name);
  return fixedTable(spec, () => Promise.resolve(entries));
}

export function openStatic(spec: string, name: string): LookupTable {
  let value = name;
  if (name.startsWith("{")) {
    const inner = unbrace(name);
    if ("error" in inner) throw tableError({ spec }, `bad static:name syntax: ${inner.error}`);
    value = inner.inner;
  }
  if (value === "") throw tableError({ spec }, "static: table needs a value");
  return { spec, pattern: false, lookup: () => Promise.resolve(value) };
}
