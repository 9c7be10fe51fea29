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

/**
 * A rule Postfix would use but facteur cannot: parseOne throws it to refuse
 * the whole table instead of skipping the rule.
 */
export class UnsupportedRule extends Error {}

/**
 * Parse every logical line (parseOne throws an Error with Postfix's wording)
 * and pair IF/ENDIF. Like Postfix (dict_regexp.c, dict_pcre.c, dict_cidr.c)
 * a bad rule is reported with its file and line and skipped, the rest of the
 * table loads; "ENDIF without matching IF" is ignored and an IF without ENDIF
 * runs to the end of the table. An UnsupportedRule refuses the table.
 */
export function parseRuleLines<R extends RuleBase>(
  lines: LogicalLine[],
  ctx: TableContext,
  parseOne: (text: string, line: number) => R,
  warn: (message: string) => void,
): R[] {
  const rules: R[] = [];
  const open: number[] = [];
  const where = (line: number) => `${ctx.file}:${line}`;
  for (const { text, line, orphan } of lines) {
    if (orphan) {
      warn(`${where(line)}: logical line must not start with whitespace: skipping this rule`);
      continue;
    }
    let rule: R;
    try {
      rule = parseOne(trimSpace(text), line);
    } catch (err) {
      if (err instanceof UnsupportedRule) throw tableError(ctx, err.message, line);
      warn(`${where(line)}: ${(err as Error).message}: skipping this rule`);
      continue;
    }
    if (rule.op === "endif") {
      const start = open.pop();
      if (start === undefined) {
        warn(`${where(line)}: ignoring ENDIF without matching IF`);
        continue;
      }
      (rules[start] as Extract<RuleBase, { op: "if" }>).endif = rules.length;
    }
    if (rule.op === "if") open.push(rules.length);
    rules.push(rule);
  }
  for (const start of open) {
    warn(`${where(rules[start].line)}: IF has no matching ENDIF`);
    (rules[start] as Extract<RuleBase, { op: "if" }>).endif = rules.length;
  }
  return rules;
}

/** "if" / "endif" followed by a non-alphanumeric character, any case (dict_regexp.c). */
export function keyword(text: string, word: "if" | "endif"): boolean {
  const head = text.slice(0, word.length).toLowerCase();
  return head === word && !/[A-Za-z0-9]/.test(text[word.length] ?? "");
}
