/**
 * The postmap(1) source format ("INPUT FILE FORMAT"), read directly instead of
 * building a .db: `key whitespace value` per logical line. What Postfix 3.7
 * does, checked against postmap -q:
 *
 * - the key ends at the first whitespace outside double quotes; a backslash
 *   escapes the next character. The key is kept as written, quotes included
 *   (`"a b" v` is found with the key `"a b"`), and folded to lower case;
 * - the value is the rest of the line with surrounding white space removed;
 * - duplicate keys: the first one wins, the others are reported (postmap:
 *   "duplicate entry");
 * - a line without a value, or with an unbalanced quote: postmap warns
 *   "-- ignoring this line" and goes on; so does facteur when the table is
 *   first opened (the warning names file:line). When `strict` is set (a
 *   reload of a table already in use, see watched_file.ts) the line is an
 *   error instead, so a broken new version never replaces a good one.
 */

import { isSpace, logicalLines, trimSpace } from "./lines.ts";
import { type TableContext, tableError } from "./table_error.ts";

export interface ParseContext extends TableContext {
  warn: (message: string) => void;
  /** Throw on a bad line instead of skipping it (reloads). */
  strict?: boolean;
}

/** A bad line: an error in strict mode, else a warning and the line is skipped. */
export function badLine(ctx: ParseContext, message: string, line: number): void {
  if (ctx.strict) throw tableError(ctx, message, line);
  ctx.warn(`${ctx.file}:${line}: ${message} -- ignoring this line (table ${ctx.spec})`);
}

/** Split a logical line into key and value ("" when there is none); `quoted` = a quote was left open. */
export function splitKeyValue(text: string): { key: string; value: string; quoted: boolean } {
  let quoted = false;
  let end = 0;
  for (; end < text.length; end++) {
    const ch = text[end];
    if (ch === "\\" && end + 1 < text.length) end++;
    else if (ch === '"') quoted = !quoted;
    else if (!quoted && isSpace(ch)) break;
  }
  return { key: text.slice(0, end), value: trimSpace(text.slice(end)), quoted };
}

export function parsePostmapSource(source: string, ctx: ParseContext): Map<string, string> {
  const entries = new Map<string, string>();
  for (const { text, line, orphan } of logicalLines(source)) {
    if (orphan) {
      badLine(ctx, "logical line must not start with whitespace", line);
      continue;
    }
    const { key, value, quoted } = splitKeyValue(trimSpace(text));
    if (quoted) {
      badLine(ctx, `unbalanced '"' in '${trimSpace(text)}'`, line);
      continue;
    }
    if (value === "") {
      badLine(ctx, "expected format: key whitespace value", line);
      continue;
    }
    if (key.endsWith(":")) {
      ctx.warn(
        `${ctx.file}, line ${line}: record is in "key: value" format; is this an alias file?`,
      );
    }
    const folded = key.toLowerCase();
    if (entries.has(folded)) {
      ctx.warn(`${ctx.file}, line ${line}: duplicate entry: "${folded}"`);
      continue;
    }
    entries.set(folded, value);
  }
  return entries;
}
