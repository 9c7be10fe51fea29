/**
 * sqlite: tables (sqlite_table(5)): `sqlite:/etc/postfix/file.cf`, where the
 * .cf file "has the same format as the Postfix main.cf file" and sets
 *
 *   dbpath            the database file (opened read-only)
 *   query             the SQL template, e.g. SELECT v FROM t WHERE k='%s'
 *                     (Postfix 2.2+; before, select_field, table, where_field
 *                     and additional_conditions build "SELECT [select_field]
 *                     FROM [table] WHERE [where_field] = '%s' [additional_conditions]")
 *   result_format     applied to each result (default %s), see db_template.ts
 *   domain            "only fully qualified search keys with a *non-empty*
 *                     localpart and a matching domain are eligible for lookup"
 *   expansion_limit   "Lookups fail with a temporary error if the limit is exceeded"
 *
 * The key is folded to lower case (postmap(1): "By default the lookup key is
 * mapped to lowercase"). The first column of every row is a result; empty
 * ones are skipped ("empty lookup result ... ignored"), the others are joined
 * with commas ("multiple values are concatenated as comma separated strings").
 *
 * Keys are bound, never pasted into the SQL text. Postfix pastes the key
 * with sqlite3_mprintf("%q") quoting, which is only safe inside a '...'
 * literal and relies on the template writer putting the quotes there. Here
 * the template is compiled once, at open: every %-expansion becomes a `?`
 * parameter; a '...' literal that holds expansions becomes a concatenation
 * ('a' || ? || 'b'), which is the same string Postfix's quoted literal
 * denotes. So no key can change the statement, whatever the template looks
 * like, and a query that does not compile is an error when the table opens
 * (Postfix only finds out on the first lookup). An expansion inside a
 * "quoted identifier" cannot be bound and is refused.
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { tempFail } from "../errors.ts";
import { splitOutsideBraces } from "./braces.ts";
import { expandTemplate, parseTemplate, type Template, templateFields } from "./db_template.ts";
import { logicalLines, trimSpace } from "./lines.ts";
import { type TableContext, tableError } from "./table_error.ts";
import type { LookupTable } from "./types.ts";
import { readTableFile } from "./watched_file.ts";

/** main.cf syntax: `name = value`, comments, continuation lines; a later setting wins. */
export function parseCfFile(text: string, ctx: TableContext): Map<string, string> {
  const params = new Map<string, string>();
  for (const { text: line, line: number, orphan } of logicalLines(text)) {
    const eq = line.indexOf("=");
    const name = trimSpace(eq < 0 ? line : line.slice(0, eq));
    if (orphan || eq < 0 || name === "" || /\s/.test(name)) {
      throw tableError(ctx, `missing '=' after attribute name: "${trimSpace(line)}"`, number);
    }
    params.set(name, trimSpace(line.slice(eq + 1)).replace(/\s*\n\s*/g, " "));
  }
  return params;
}

const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * The SQL text with a `?` for each expansion, in template order: outside
 * quotes an expansion is a `?`; a '...' literal holding expansions becomes
 * ('text' || ? || 'text'). Throws an Error for what cannot be bound.
 */
export function compileQuery(template: Template): string {
  // One item per character, null for an expansion.
  const items: (string | null)[] = template.parts.flatMap((p) =>
    "text" in p ? [...p.text] : [null]
  );
  let sql = "";
  let i = 0;
  while (i < items.length) {
    const item = items[i++];
    if (item === null) {
      sql += "?";
    } else if (item === '"' || item === "`") {
      sql += item;
      while (i < items.length && items[i] !== item) {
        if (items[i] === null) throw new Error(`a %-expansion inside a ${item}quoted identifier`);
        sql += items[i++];
      }
      if (i < items.length) sql += items[i++];
    } else if (item === "'") {
      const pieces: string[] = [];
      let text = "";
      for (;;) {
        if (i >= items.length) throw new Error("unterminated '...' string in the query");
        const c = items[i++];
        if (c === null) {
          if (text !== "") pieces.push(sqlString(text));
          pieces.push("?");
          text = "";
        } else if (c === "'" && items[i] === "'") {
          text += "'";
          i++;
        } else if (c === "'") {
          break;
        } else {
          text += c;
        }
      }
      if (text !== "" || pieces.length === 0) pieces.push(sqlString(text));
      sql += pieces.includes("?") ? `(${pieces.join(" || ")})` : pieces[0];
    } else {
      sql += item;
    }
  }
  return sql;
}

/** domain = a list of names, /file paths and type:table (string_list matching). */
interface DomainList {
  matches(domain: string): Promise<boolean>;
}

function compileDomainList(
  value: string,
  openTable: (spec: string) => LookupTable,
  resolvePath: (p: string) => string,
  ctx: TableContext,
): DomainList {
  const patterns: { negate: boolean; name?: string; table?: LookupTable }[] = [];
  const add = (token: string) => {
    const negate = token.startsWith("!");
    const text = negate ? token.slice(1) : token;
    if (text.startsWith("/") || text.startsWith(".")) {
      const file = resolvePath(text);
      for (const word of readTableFile(ctx.spec, file).text.split(/\s+|,/)) {
        if (word !== "" && !word.startsWith("#")) {
          patterns.push({ negate, name: word.toLowerCase() });
        }
      }
    } else if (/^[a-z0-9_]+:/i.test(text)) {
      patterns.push({ negate, table: openTable(text) });
    } else {
      patterns.push({ negate, name: text.toLowerCase() });
    }
  };
  splitOutsideBraces(value).forEach(add);
  return {
    async matches(domain: string) {
      const lower = domain.toLowerCase();
      for (const p of patterns) {
        const hit = p.table ? (await p.table.lookup(lower)) !== undefined : p.name === lower;
        if (hit) return !p.negate;
      }
      return false;
    },
  };
}

export interface SqliteOptions {
  resolvePath: (p: string) => string;
  /** Opens the type:table entries of the "domain" parameter. */
  openTable: (spec: string) => LookupTable;
  warn: (message: string) => void;
}

function legacyQuery(params: Map<string, string>, ctx: TableContext): string {
  const need = (name: string) => {
    const value = params.get(name);
    if (!value) throw tableError(ctx, `'${name}' parameter not defined`);
    return value;
  };
  const extra = params.get("additional_conditions") ?? "";
  return `SELECT ${need("select_field")} FROM ${need("table")} WHERE ${
    need("where_field")
  } = '%s' ${extra}`;
}

export function openSqlite(spec: string, name: string, opts: SqliteOptions): LookupTable {
  const file = opts.resolvePath(name);
  const ctx = { spec, file };
  const params = parseCfFile(readTableFile(spec, file).text, ctx);
  const dbpath = params.get("dbpath");
  if (!dbpath) throw tableError(ctx, "bad string length 0 < 1: dbpath");
  const queryText = params.get("query") || legacyQuery(params, ctx);
  let query: Template;
  let result: Template;
  let sql: string;
  try {
    query = parseTemplate(queryText, "query");
    result = parseTemplate(params.get("result_format") || "%s", "result");
    sql = compileQuery(query);
  } catch (err) {
    throw tableError(ctx, (err as Error).message);
  }
  const limitText = params.get("expansion_limit") ?? "0";
  if (!/^\d+$/.test(limitText)) {
    throw tableError(ctx, `bad numerical configuration: expansion_limit = ${limitText}`);
  }
  const limit = Number(limitText);
  const domains = params.get("domain")
    ? compileDomainList(params.get("domain")!, opts.openTable, opts.resolvePath, ctx)
    : undefined;

  let db: DatabaseSync;
  let statement: StatementSync;
  const dbFile = opts.resolvePath(dbpath);
  try {
    db = new DatabaseSync(dbFile, { readOnly: true });
  } catch (err) {
    throw tableError(ctx, `open database ${dbFile}: ${(err as Error).message}`);
  }
  try {
    statement = db.prepare(sql);
  } catch (err) {
    db.close();
    throw tableError(ctx, `SQL prepare failed: ${(err as Error).message} in: ${sql}`);
  }

  async function lookup(rawKey: string): Promise<string | undefined> {
    const key = rawKey.toLowerCase();
    if (domains) {
      const at = key.lastIndexOf("@");
      if (at <= 0 || !(await domains.matches(key.slice(at + 1)))) return undefined;
    }
    const fields = templateFields(query, key);
    if (!fields) return undefined;
    let rows: Record<string, unknown>[];
    try {
      rows = statement.all(...fields);
    } catch (err) {
      throw tempFail(`${spec}: SQL query failed: ${(err as Error).message}`);
    }
    const values: string[] = [];
    for (const row of rows) {
      const cell = Object.values(row)[0]; // the first column (dict_sqlite.c: column 0)
      if (cell === null || cell === undefined) continue;
      const text = cell instanceof Uint8Array ? new TextDecoder().decode(cell) : String(cell);
      if (text === "") {
        opts.warn(`table "${spec}": empty lookup result for: "${key}" -- ignored`);
        continue;
      }
      const expanded = expandTemplate(result, text, key);
      if (expanded === undefined) continue;
      values.push(expanded);
      if (limit > 0 && values.length > limit) {
        opts.warn(`${spec}: Expansion limit exceeded for key: '${key}'`);
        throw tempFail(`${spec}: expansion limit ${limit} exceeded for key "${key}"`);
      }
    }
    return values.length > 0 ? values.join(",") : undefined;
  }

  return { spec, pattern: false, lookup, close: () => db.close() };
}
