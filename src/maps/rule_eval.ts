/**
 * Evaluating compiled regexp:/pcre: rules against a key: the first matching
 * rule wins, IF blocks skip to their ENDIF, $n comes from the (POSIX:
 * longest) match. These functions run both in this process and in the
 * regex sandbox child (regex_sandbox.ts ships their source text there), so
 * they must stay self-contained: no imports, no references to anything but
 * each other and built-ins.
 */

/** A compiled pattern as plain data (it crosses to the sandbox as JSON). */
export interface MatcherData {
  source: string;
  flags: string;
  negate: boolean;
  groupIndex: number[];
}

/** Literal text and group numbers (substitution.ts parses them). */
export type ReplacementData = (string | number)[];

export type RuleData =
  | {
    op: "match";
    line: number;
    first: MatcherData;
    second?: MatcherData;
    replacement: ReplacementData;
    /** POSIX rule whose result uses $n: the captured text must come from the longest match. */
    longest: boolean;
  }
  | { op: "if"; line: number; cond: MatcherData; endif: number }
  | { op: "endif"; line: number };

/** Compiled RegExp objects, cached per matcher (one map per process). */
const compiled = new WeakMap<MatcherData, RegExp>();

function regexpOf(m: MatcherData): RegExp {
  let re = compiled.get(m);
  if (!re) {
    re = new RegExp(m.source, m.flags);
    compiled.set(m, re);
  }
  return re;
}

function runMatcher(m: MatcherData, key: string): { hit: boolean; match: RegExpExecArray | null } {
  const re = regexpOf(m);
  re.lastIndex = 0;
  const match = re.exec(key);
  return { hit: (match !== null) !== m.negate, match };
}

/**
 * regexec() reports the longest of the leftmost matches (POSIX), JavaScript
 * the first one its backtracking finds, which can be shorter: "(a|ab)" on "ab"
 * is "ab" for Postfix, "a" for JS. The $n text depends on it, so ask again
 * from the same start for a match that ends further (a lookahead bounds what
 * may remain after it) until there is none.
 */
function longestMatch(m: MatcherData, key: string, found: RegExpExecArray): RegExpExecArray {
  let best = found;
  for (;;) {
    const remaining = key.length - (best.index + best[0].length);
    if (remaining === 0) return best;
    const longer = new RegExp(`(?:${m.source})(?=[\\s\\S]{0,${remaining - 1}}$)`, m.flags + "y");
    longer.lastIndex = found.index;
    const next = longer.exec(key);
    if (!next) return best;
    best = next;
  }
}

/** $n → the group's text (nothing when it did not take part), literal text as is. */
function expandReplacement(
  replacement: ReplacementData,
  group: (n: number) => string | undefined,
): string {
  return replacement.map((p) => (typeof p === "number" ? group(p) ?? "" : p)).join("");
}

/** The first matching rule's result, or undefined; `line` tells which rule answered. */
export function evaluateRules(
  rules: RuleData[],
  key: string,
): { value: string; line: number } | undefined {
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (rule.op === "endif") continue;
    if (rule.op === "if") {
      if (!runMatcher(rule.cond, key).hit) i = rule.endif;
      continue;
    }
    const { hit, match } = runMatcher(rule.first, key);
    if (!hit || (rule.second && !runMatcher(rule.second, key).hit)) continue;
    const best = match && rule.longest ? longestMatch(rule.first, key, match) : match;
    const group = (n: number) => best?.[rule.first.groupIndex[n]];
    return { value: expandReplacement(rule.replacement, group), line: rule.line };
  }
  return undefined;
}

/** The source text of the functions above, for the sandbox child. */
export function evaluatorSource(): string {
  return [
    "const compiled = new WeakMap();",
    regexpOf,
    runMatcher,
    longestMatch,
    expandReplacement,
    evaluateRules,
  ].map(String).join("\n");
}
