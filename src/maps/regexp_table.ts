/**
 * regexp: and pcre: tables (regexp_table(5), pcre_table(5)): an ordered list
 * of rules, the first match wins.
 *
 *   /pattern/flags result       result when the key matches
 *   !/pattern/flags result      result when it does not (no $n then)
 *   /pat1/!/pat2/ result        regexp: only (old form): pat1 matches, pat2 not
 *   if /pattern/flags ... endif rules inside apply only when it matches (nests)
 *
 * Any non-alphanumeric character can delimit the pattern; a backslash
 * escapes it. Matching is case-insensitive unless the flag "i" toggles it;
 * the key is used as is (no case folding). The table is read once at open,
 * as Postfix daemons do.
 *
 * Bad rules: like Postfix, a rule that does not parse (or a pattern that does
 * not compile) is reported with its file:line and skipped, and the rest of
 * the table loads. A pattern Postfix accepts but JavaScript cannot run (PCRE
 * recursion, \K, (*VERB)...) refuses the whole table with a ConfigError:
 * skipping it would silently give other answers than Postfix.
 *
 * Lookups are bounded in time: see regex_sandbox.ts.
 */

import { isSpace, trimSpace } from "./lines.ts";
import { translatePcre } from "./pcre_regex.ts";
import { type TranslatedRegex, translatePosix } from "./posix_regex.ts";
import { UnsupportedRegexError } from "./regex_ast.ts";
import { type RegexCost, regexCost, stepsFor } from "./regex_cost.ts";
import { regexSandbox } from "./regex_sandbox.ts";
import { evaluateRules, type MatcherData, type RuleData } from "./rule_eval.ts";
import { keyword, parseRuleLines, tableSource, UnsupportedRule } from "./rule_source.ts";
import { maxGroup, parseReplacement, type Replacement } from "./substitution.ts";
import { tableError } from "./table_error.ts";
import type { LookupTable } from "./types.ts";

export type Dialect = "regexp" | "pcre";

interface Matcher extends MatcherData {
  groupCount: number;
  /** Worst-case backtracking estimate; undefined = unbounded (sandbox only). */
  cost?: RegexCost;
}

type Rule = RuleData & { cost: RuleCost };

/** Per rule: the costs of its patterns and whether the POSIX longest-match search runs. */
interface RuleCost {
  matchers: (RegexCost | undefined)[];
  longest: boolean;
}

const FLAG_LETTERS: Record<Dialect, string> = { regexp: "imx", pcre: "imsxAEUX" };
const isAlnum = (ch: string | undefined) => ch !== undefined && /[A-Za-z0-9]/.test(ch);

interface RawPattern {
  pattern: string;
  flags: string;
  negate: boolean;
}

/** "!/pattern/flags": negations, delimiter, pattern (backslash escapes kept), flags. */
function takePattern(text: string, dialect: Dialect): { pat: RawPattern; rest: string } {
  let i = 0;
  let negate = false;
  for (; i < text.length; i++) {
    if (text[i] === "!") negate = !negate;
    else if (!isSpace(text[i])) break;
  }
  if (i >= text.length) throw new Error("no regexp");
  const delimiter = text[i++];
  const start = i;
  for (; i < text.length && text[i] !== delimiter; i++) {
    if (text[i] === "\\") {
      if (i + 1 >= text.length) break;
      i++;
    }
  }
  if (i >= text.length) throw new Error(`no closing regexp delimiter "${delimiter}"`);
  const pattern = text.slice(start, i++);
  const flagStart = i;
  while (i < text.length && !isSpace(text[i]) && !(dialect === "regexp" && text[i] === "!")) {
    if (!FLAG_LETTERS[dialect].includes(text[i])) {
      throw new Error(`unknown regexp option "${text[i]}"`);
    }
    i++;
  }
  return { pat: { pattern, flags: text.slice(flagStart, i), negate }, rest: text.slice(i) };
}

/** Flags toggle the table defaults; an even number of the same letter cancels out. */
const toggled = (flags: string, letter: string, byDefault: boolean) =>
  [...flags].filter((f) => f === letter).length % 2 === 1 ? !byDefault : byDefault;

function compile(pat: RawPattern, dialect: Dialect, warn: (m: string) => void): Matcher {
  let translated: TranslatedRegex;
  const f = pat.flags;
  try {
    translated = dialect === "regexp"
      ? translatePosix(pat.pattern, {
        icase: toggled(f, "i", true),
        newline: toggled(f, "m", false),
        extended: toggled(f, "x", true),
      })
      : translatePcre(pat.pattern, {
        caseless: toggled(f, "i", true),
        multiline: toggled(f, "m", false),
        dotall: toggled(f, "s", true),
        extended: toggled(f, "x", false),
        anchored: toggled(f, "A", false),
        dollarEndOnly: toggled(f, "E", false),
        ungreedy: toggled(f, "U", false),
      });
    if (f.includes("X")) warn('ignoring obsolete regexp option "X"');
    new RegExp(translated.source, translated.flags); // throws if the translation is not valid JS
    return { negate: pat.negate, ...translated, cost: regexCost(translated.source) };
  } catch (err) {
    const message = `error in regex "${pat.pattern}": ${(err as Error).message}`;
    if (err instanceof UnsupportedRegexError) throw new UnsupportedRule(message);
    throw new Error(message);
  }
}

export interface RuleOptions {
  warn: (message: string) => void;
  /** aliases(5) SECURITY: no $number substitution in alias_maps. */
  noSubstitution?: boolean;
}

function parseRule(text: string, dialect: Dialect, opts: RuleOptions, line: number): Rule {
  const warn = (m: string) => opts.warn(`${dialect} map, line ${line}: ${m}`);
  if (!isAlnum(text[0])) {
    const first = takePattern(text, dialect);
    let rest = first.rest;
    let second: RawPattern | undefined;
    if (dialect === "regexp" && rest.startsWith("!")) {
      const taken = takePattern(rest, dialect);
      second = taken.pat;
      rest = taken.rest;
    }
    const resultText = trimSpace(rest);
    if (resultText === "") throw new Error("no replacement text");
    let replacement: Replacement;
    try {
      replacement = parseReplacement(resultText);
    } catch (err) {
      throw new Error(`bad replacement syntax: ${(err as Error).message}`);
    }
    const used = maxGroup(replacement);
    if (used > 0 && first.pat.negate) {
      throw new Error("$number found in negative match replacement text");
    }
    if (used > 0 && opts.noSubstitution) {
      throw new Error("regular expression substitution is not allowed");
    }
    const matcher = compile(first.pat, dialect, warn);
    if (used > matcher.groupCount) throw new Error(`out of range replacement index "${used}"`);
    const secondMatcher = second && compile(second, dialect, warn);
    const longest = dialect === "regexp" && used > 0;
    const cost = { matchers: [matcher.cost, secondMatcher?.cost], longest };
    if (!secondMatcher) cost.matchers.pop();
    return { op: "match", line, first: matcher, second: secondMatcher, replacement, longest, cost };
  }
  if (keyword(text, "if")) {
    const { pat, rest } = takePattern(text.slice(2), dialect);
    if (trimSpace(rest) !== "") {
      throw new Error(
        `extra text after IF statement: "${
          trimSpace(rest)
        }" (do not indent rules between IF and ENDIF)`,
      );
    }
    const cond = compile(pat, dialect, warn);
    return { op: "if", line, cond, endif: -1, cost: { matchers: [cond.cost], longest: false } };
  }
  if (keyword(text, "endif")) {
    if (trimSpace(text.slice(5)) !== "") throw new Error("extra text after ENDIF");
    return { op: "endif", line, cost: { matchers: [], longest: false } };
  }
  throw new Error("unrecognized request (a rule starts with a pattern delimiter, IF or ENDIF)");
}

/**
 * Worst-case steps allowed for a lookup in this process (a few ms at most);
 * above it, or for a pattern without a bound, the lookup goes to the sandbox.
 */
export const INLINE_STEP_BUDGET = 2_000_000;

/** Default deadline of a sandboxed lookup (MapOptions.regexTimeoutMs). */
export const DEFAULT_REGEX_TIMEOUT_MS = 250;

/** The worst-case steps of evaluating every rule against a key of this length. */
function worstSteps(rules: Rule[], length: number): number {
  let steps = 0;
  for (const { cost } of rules) {
    for (const m of cost.matchers) {
      if (!m) return Infinity;
      steps += stepsFor(m, length, cost.longest ? 1 : 0);
    }
  }
  return steps;
}

/** The longest key (up to 1 MB) whose worst case fits the budget; -1 when none does. */
function longestInlineKey(rules: Rule[]): number {
  let lo = -1;
  let hi = 1 << 20;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (worstSteps(rules, mid) <= INLINE_STEP_BUDGET) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function openRegexpTable(
  spec: string,
  dialect: Dialect,
  name: string,
  opts: RuleOptions & { resolvePath: (p: string) => string; timeoutMs?: number },
): LookupTable {
  const { lines, ctx } = tableSource(spec, name, opts.resolvePath);
  const rules = parseRuleLines(
    lines,
    ctx,
    (text, line) => parseRule(text, dialect, opts, line),
    (m) => opts.warn(`${m} (table ${spec})`),
  );
  const timeoutMs = opts.timeoutMs ?? DEFAULT_REGEX_TIMEOUT_MS;
  // Key lengths up to this one run here; longer ones in the sandbox.
  const inlineUpTo = longestInlineKey(rules);
  let sandboxId: number | undefined;
  return {
    spec,
    pattern: true,
    async lookup(key: string) {
      let found;
      if (key.length <= inlineUpTo) {
        found = evaluateRules(rules, key);
      } else {
        sandboxId ??= regexSandbox.register(rules);
        found = await regexSandbox.evaluate(sandboxId, key, timeoutMs);
      }
      if (found?.value === "") {
        // maps(3): an empty result is a configuration error, not "not found".
        throw tableError(ctx, `lookup of "${key}" returns an empty string result`, found.line);
      }
      return found?.value;
    },
    close() {
      if (sandboxId !== undefined) regexSandbox.unregister(sandboxId);
      sandboxId = undefined;
    },
  };
}
