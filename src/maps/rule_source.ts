/**
 * What regexp:, pcre: and cidr: tables share: where the rules come from (a
 * file, or inline `type:{ {rule-1}, {rule-2} }` as in Postfix 3.7 "INLINE
 * SPECIFICATION"), and the IF ... ENDIF pairing (nesting allowed).
 */

import { splitOutsideBraces, unbrace } from "./braces.ts";
import { type LogicalLine, logicalLines, trimSpace } from "./lines.ts";
import { type TableContext, tableError } from "./table_error.ts";
import { readTableFile } from "./watched_file.ts";

export function tableSource(
  spec: string,
  name: string,
  resolvePath: (p: string) => string,
): { lines: LogicalLine[]; ctx: TableContext } {
  if (!name.startsWith("{")) {
    const file = resolvePath(name);
    return { lines: logicalLines(readTableFile(spec, file).text), ctx: { spec, file } };
  }
  const ctx = { spec, file: spec };
  const body = unbrace(name);
  if ("error" in body) throw tableError({ spec }, body.error);
  const lines = splitOutsideBraces(body.inner).map((token, index): LogicalLine => {
    const rule = unbrace(token);
    if ("error" in rule) throw tableError({ spec }, `rule ${index + 1}: ${rule.error}`);
    return { text: rule.inner, line: index + 1, orphan: false };
  });
  return { lines, ctx };
}

/** A rule; an "if" learns the index of its "endif" so a failed condition can skip the block. */
export type RuleBase = { op: "if"; line: number; endif: number } | { op: "endif"; line: number } | {
  op: "match";
  line: number;
};

/** Parse every logical line (parseOne throws an Error with Postfix's wording) and pair IF/ENDIF. */
export function parseRuleLines<R extends RuleBase>(
  lines: LogicalLine[],
  ctx: TableContext,
  parseOne: (text: string, line: number) => R,
): R[] {
  const rules: R[] = [];
  const open: number[] = [];
  for (const { text, line, orphan } of lines) {
    if (orphan) throw tableError(ctx, "logical line must not start with whitespace", line);
    let rule: R;
    try {
      rule = parseOne(trimSpace(text), line);
    } catch (err) {
      throw tableError(ctx, (err as Error).message, line);
    }
    if (rule.op === "if") open.push(rules.length);
    if (rule.op === "endif") {
      const start = open.pop();
      if (start === undefined) throw tableError(ctx, "ENDIF without matching IF", line);
      (rules[start] as Extract<RuleBase, { op: "if" }>).endif = rules.length;
    }
    rules.push(rule);
  }
  const unclosed = open.pop();
  if (unclosed !== undefined) {
    throw tableError(ctx, "IF has no matching ENDIF", rules[unclosed].line);
  }
  return rules;
}

/** "if" / "endif" followed by a non-alphanumeric character, any case (dict_regexp.c). */
export function keyword(text: string, word: "if" | "endif"): boolean {
  const head = text.slice(0, word.length).toLowerCase();
  return head === word && !/[A-Za-z0-9]/.test(text[word.length] ?? "");
}
