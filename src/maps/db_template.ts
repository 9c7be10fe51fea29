/**
 * The `%` templates of the SQL tables (sqlite_table(5) "query" and
 * "result_format"; Postfix's db_common.c):
 *
 *   %%  a "%"            %s  the whole value         %S  the whole lookup key
 *   %u  local part       %d  domain part             %U %D  the same, of the key
 *   %1 ... %9  the domain labels of the key from the most significant one
 *              (user@mail.example.com: %1 = com, %2 = example, %3 = mail)
 *
 * In a query template the value is the key, so lower and upper case mean the
 * same. "%d" (and %D, %1-%9) needs a key of the form user@domain: "Otherwise
 * the query is suppressed and returns no results"; "%u" on an address with an
 * empty local part is suppressed too; without "@", %u is the whole key. A
 * template is checked once: any other "%x" is an error ("Invalid query
 * template").
 */

export type TemplatePart =
  | { text: string }
  | { field: "s" | "u" | "d" | "S" | "U" | "D" | number };

export interface Template {
  parts: TemplatePart[];
  /** Which address parts it needs: a value/key without them suppresses the query or the result. */
  needsValueDomain: boolean;
  needsValueUser: boolean;
  needsKeyDomain: boolean;
  needsKeyUser: boolean;
  /** Highest %1-%9 used (0 = none). */
  labels: number;
}

/** Parse a template; throws an Error naming the bad specifier. */
export function parseTemplate(format: string, kind: "query" | "result"): Template {
  const t: Template = {
    parts: [],
    needsValueDomain: false,
    needsValueUser: false,
    needsKeyDomain: false,
    needsKeyUser: false,
    labels: 0,
  };
  let text = "";
  const flush = () => {
    if (text !== "") t.parts.push({ text });
    text = "";
  };
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== "%") {
      text += format[i];
      continue;
    }
    const c = format[++i];
    if (c === "%") {
      text += "%";
      continue;
    }
    flush();
    if (c === "s" || c === "S") {
      t.parts.push({ field: kind === "query" ? "s" : c });
    } else if (c === "u" || c === "U") {
      if (kind === "query" || c === "U") t.needsKeyUser = true;
      else t.needsValueUser = true;
      t.parts.push({ field: kind === "query" ? "U" : c });
    } else if (c === "d" || c === "D") {
      if (kind === "query" || c === "D") t.needsKeyDomain = true;
      else t.needsValueDomain = true;
      t.parts.push({ field: kind === "query" ? "D" : c });
    } else if (c !== undefined && c >= "1" && c <= "9") {
      t.needsKeyDomain = true;
      t.labels = Math.max(t.labels, Number(c));
      t.parts.push({ field: Number(c) });
    } else {
      throw new Error(`invalid ${kind} template "${format}": unknown "%${c ?? ""}"`);
    }
  }
  flush();
  return t;
}

interface Address {
  whole: string;
  user: string;
  domain?: string;
}

/** Split at the last "@" (strrchr in db_common.c). */
function splitAt(text: string): Address {
  const at = text.lastIndexOf("@");
  if (at < 0) return { whole: text, user: text };
  return { whole: text, user: text.slice(0, at), domain: text.slice(at + 1) };
}

/** Whether an address has what the template needs (a domain, a local part). */
function usable(a: Address, needDomain: boolean, needUser: boolean): boolean {
  if (needDomain && !a.domain) return false;
  if (needUser && a.domain !== undefined && a.user === "") return false;
  return true;
}

/** The domain labels for %1-%9, or undefined when the domain has too few (or empty ones). */
function domainLabels(domain: string | undefined, count: number): string[] | undefined {
  if (count === 0) return [];
  if (domain === undefined) return undefined;
  const labels = domain.split(".").reverse();
  if (labels.length < count || labels.slice(0, count).some((l) => l === "")) return undefined;
  return labels;
}

/**
 * The value of each field the template uses, in order; undefined when the key
 * (or, for a result, the value) lacks a part it needs. `value` is the key for a
 * query template, the database result for a result template.
 */
export function templateFields(
  t: Template,
  value: string,
  key: string = value,
): string[] | undefined {
  const v = splitAt(value);
  const k = splitAt(key);
  if (!usable(v, t.needsValueDomain, t.needsValueUser)) return undefined;
  if (!usable(k, t.needsKeyDomain, t.needsKeyUser)) return undefined;
  const labels = domainLabels(k.domain, t.labels);
  if (!labels) return undefined;
  const fields: string[] = [];
  for (const part of t.parts) {
    if (!("field" in part)) continue;
    const f = part.field;
    if (typeof f === "number") fields.push(labels[f - 1]);
    else if (f === "s") fields.push(v.whole);
    else if (f === "u") fields.push(v.user);
    else if (f === "d") fields.push(v.domain!);
    else if (f === "S") fields.push(k.whole);
    else if (f === "U") fields.push(k.user);
    else fields.push(k.domain!);
  }
  return fields;
}

/** Expand a template to text (result_format), or undefined when it is to be skipped. */
export function expandTemplate(t: Template, value: string, key: string): string | undefined {
  const fields = templateFields(t, value, key);
  if (!fields) return undefined;
  let n = 0;
  return t.parts.map((p) => ("text" in p ? p.text : fields[n++])).join("");
}
