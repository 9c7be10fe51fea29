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
 * as Postfix daemons do. Where Postfix warns and skips a bad rule, facteur
 * refuses the table with the file and line.
 */

import { isSpace, trimSpace } from "./lines.ts";
import { translatePcre } from "./pcre_regex.ts";
import { type TranslatedRegex, translatePosix } from "./posix_regex.ts";
import { keyword, parseRuleLines, tableSource } from "./rule_source.ts";
import { expand, maxGroup, parseReplacement, type Replacement } from "./substitution.ts";
import { tableError } from "./table_error.ts";
import type { LookupTable } from "./types.ts";

export type Dialect = "regexp" | "pcre";

interface Matcher {
  regexp: RegExp;
  /** The translated JS source and flags, for the longest-match search below. */
  source: string;
  flags: string;
  negate: boolean;
  groupCount: number;
  groupIndex: number[];
}

type Rule =
  | {
    op: "match";
    line: number;
    first: Matcher;
    second?: Matcher;
    replacement: Replacement;
    /** POSIX rule whose result uses $n: the captured text must come from the longest match. */
    longest: boolean;
  }
  | { op: "if"; line: number; cond: Matcher; endif: number }
  | { op: "endif"; line: number };

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
    const regexp = new RegExp(translated.source, translated.flags);
    return { regexp, negate: pat.negate, ...translated };
  } catch (err) {
    throw new Error(`error in regex "${pat.pattern}": ${(err as Error).message}`);
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
    return { op: "match", line, first: matcher, second: secondMatcher, replacement, longest };
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
    return { op: "if", line, cond: compile(pat, dialect, warn), endif: -1 };
  }
  if (keyword(text, "endif")) {
    if (trimSpace(text.slice(5)) !== "") throw new Error("extra text after ENDIF");
    return { op: "endif", line };
  }
  throw new Error("unrecognized request (a rule starts with a pattern delimiter, IF or ENDIF)");
}

function run(m: Matcher, key: string): { hit: boolean; match: RegExpExecArray | null } {
  m.regexp.lastIndex = 0;
  const match = m.regexp.exec(key);
  return { hit: (match !== null) !== m.negate, match };
}

/**
 * regexec() reports the longest of the leftmost matches (POSIX), JavaScript
 * the first one its backtracking finds, which can be shorter: "(a|ab)" on "ab"
 * is "ab" for Postfix, "a" for JS. The $n text depends on it, so ask again
 * from the same start for a match that ends further (a lookahead bounds what
 * may remain after it) until there is none.
 */
function longestMatch(m: Matcher, key: string, found: RegExpExecArray): RegExpExecArray {
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

/** The first matching rule's result, or undefined; `line` tells which rule answered. */
export function evaluateRules(
  rules: Rule[],
  key: string,
): { value: string; line: number } | undefined {
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (rule.op === "endif") continue;
    if (rule.op === "if") {
      if (!run(rule.cond, key).hit) i = rule.endif;
      continue;
    }
    const { hit, match } = run(rule.first, key);
    if (!hit || (rule.second && !run(rule.second, key).hit)) continue;
    const best = match && rule.longest ? longestMatch(rule.first, key, match) : match;
    const group = (n: number) => best?.[rule.first.groupIndex[n]];
    return { value: expand(rule.replacement, group), line: rule.line };
  }
  return undefined;
}

export function openRegexpTable(
  spec: string,
  dialect: Dialect,
  name: string,
  opts: RuleOptions & { resolvePath: (p: string) => string },
): LookupTable {
  const { lines, ctx } = tableSource(spec, name, opts.resolvePath);
  const rules = parseRuleLines(lines, ctx, (text, line) => parseRule(text, dialect, opts, line));
  return {
    spec,
    pattern: true,
    lookup(key: string) {
      const found = evaluateRules(rules, key);
      if (found?.value === "") {
        // maps(3): an empty result is a configuration error, not "not found".
        return Promise.reject(
          tableError(ctx, `lookup of "${key}" returns an empty string result`, found.line),
        );
      }
      return Promise.resolve(found?.value);
    },
  };
}
