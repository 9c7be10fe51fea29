/**
 * aliases(5) files (alias_maps, alias_database), read the way postalias(1)
 * builds its database:
 *
 * - `name: value1, value2, ...` per logical line (see lines.ts for comments and
 *   continuation lines);
 * - the line is tokenized as RFC 822 text, so a name with special characters is
 *   written in double quotes; the name ends at the first ":" token, must not
 *   contain "," and must be local (no "@" or "%"); it is stored unquoted and
 *   folded to lower case;
 * - the value is stored in RFC 822 external form: white space between tokens
 *   is normalized ("a ,  b" becomes "a, b"), quoted strings stay quoted;
 * - the first of duplicate names wins (postalias warns "duplicate entry").
 *
 * Postalias's "@" → "@" and YP_* entries are not added.
 */

import { logicalLines } from "./lines.ts";
import { badLine, type ParseContext } from "./postmap_source.ts";
import {
  externalize,
  internalize,
  scanTokens,
  splitAddresses,
  type Token,
} from "./rfc822_tokens.ts";

const isOp = (t: Token, ch: string) => t.kind === "op" && t.text === ch;

export function parseAliasesSource(source: string, ctx: ParseContext): Map<string, string> {
  const entries = new Map<string, string>();
  for (const { text, line, orphan } of logicalLines(source)) {
    if (orphan) {
      badLine(ctx, "logical line must not start with whitespace", line);
      continue;
    }
    const { tokens, unterminated } = scanTokens(text);
    if (unterminated) {
      badLine(ctx, `unbalanced '${unterminated}'`, line);
      continue;
    }
    const colon = tokens.findIndex((t) => isOp(t, ":"));
    const name = tokens.slice(0, Math.max(colon, 0));
    const value = tokens.slice(colon + 1);
    if (colon <= 0 || value.length === 0 || name.some((t) => isOp(t, ","))) {
      badLine(ctx, "need name:value pair", line);
      continue;
    }
    if (name.some((t) => isOp(t, "@") || isOp(t, "%"))) {
      badLine(ctx, "name must be local", line);
      continue;
    }
    const key = internalize(name).toLowerCase();
    if (entries.has(key)) {
      ctx.warn(`${ctx.file}, line ${line}: duplicate entry: "${key}"`);
      continue;
    }
    entries.set(key, externalize(value));
  }
  return entries;
}

export interface AliasTarget {
  kind: "address" | "include" | "command" | "file";
  /** address: the address; include: the file path; command: the command without "|"; file: the path. */
  value: string;
}

const INCLUDE = ":include:";

/**
 * Split an alias value (or a .forward / :include: line) into destinations, as
 * local(8) does (deliver_token_string): RFC 822 address list, quote aware.
 * A destination that starts with "/" (or "~/") is a file, with "|" a command
 * (quote it when it contains white space or commas), with ":include:" a list
 * file; anything else is an address. aliases(5), local(8).
 */
export function parseAliasTargets(value: string): AliasTarget[] {
  return splitAddresses(scanTokens(value).tokens).map((tokens) => {
    const text = internalize(tokens);
    if (text.startsWith("/") || text.startsWith("~")) return { kind: "file", value: text };
    if (text.startsWith("|")) return { kind: "command", value: text.slice(1) };
    if (text.slice(0, INCLUDE.length).toLowerCase() === INCLUDE) {
      return { kind: "include", value: text.slice(INCLUDE.length) };
    }
    return { kind: "address", value: text };
  });
}
