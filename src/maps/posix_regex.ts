/**
 * POSIX regular expressions (regexp_table(5): regcomp() with REG_EXTENDED and
 * REG_ICASE by default, glibc dialect) translated to JavaScript.
 *
 * Supported: extended (ERE) and, with the table flag "x" toggled off, basic
 * (BRE) syntax; bracket expressions with [:class:], [=c=] and [.c.]; intervals;
 * back references \1-\9; the GNU escapes \w \W \s \S \b \B \< \> \` \'. With
 * REG_NEWLINE (table flag "m") "." and "[^...]" do not match a newline and
 * "^"/"$" also match at line boundaries.
 *
 * POSIX picks the longest of the leftmost matches, JavaScript the first one
 * it finds; regexp_table.ts re-runs a match whose $n text is needed to get
 * the longest one. Within it, groups capture what JavaScript's order gives,
 * which is what glibc gave in every case compared (tests/maps/postmap_compare).
 */

import {
  alt,
  type ClassItem,
  classSource,
  literalNode,
  type Node,
  POSIX_CLASSES,
  quantifyLast,
  raw,
  RegexSyntaxError,
  serialize,
  UnsupportedRegexError,
} from "./regex_ast.ts";

export interface PosixFlags {
  /** REG_EXTENDED (table flag "x", on by default). */
  extended: boolean;
  /** REG_ICASE (table flag "i", on by default). */
  icase: boolean;
  /** REG_NEWLINE (table flag "m", off by default). */
  newline: boolean;
}

export interface TranslatedRegex {
  source: string;
  flags: string;
  /** Number of capture groups the user wrote. */
  groupCount: number;
  /** JS group index of each user group (index 1..groupCount). */
  groupIndex: number[];
}

const RE_DUP_MAX = 0x7fff;
const C_SPACE = "[\\t-\\r ]";
const C_NON_SPACE = "[^\\t-\\r ]";

/** Parse a bracket expression starting just after "["; POSIX rules (backslash is literal). */
export function parseBracket(
  p: string,
  start: number,
): { items: ClassItem[]; negated: boolean; end: number } {
  let pos = start;
  const negated = p[pos] === "^";
  if (negated) pos++;
  const items: ClassItem[] = [];
  const unmatched = () => new RegexSyntaxError("Unmatched [, [^, [:, [., or [=");
  // One element: a character (possibly as [.c.] or [=c=]) or a [:class:].
  const element = (): { cp: number } | { cls: string } => {
    if (p[pos] === "[" && ":.=".includes(p[pos + 1] ?? "")) {
      const kind = p[pos + 1];
      const close = p.indexOf(kind + "]", pos + 2);
      if (close < 0) throw unmatched();
      const name = p.slice(pos + 2, close);
      pos = close + 2;
      if (kind === ":") {
        if (!POSIX_CLASSES[name]) throw new RegexSyntaxError("Invalid character class name");
        return { cls: name };
      }
      const chars = [...name];
      if (chars.length !== 1) throw new RegexSyntaxError("Invalid collation character");
      return { cp: chars[0].codePointAt(0)! };
    }
    const cp = p.codePointAt(pos)!;
    pos += cp > 0xffff ? 2 : 1;
    return { cp };
  };
  for (let first = true;; first = false) {
    if (pos >= p.length) throw unmatched();
    if (p[pos] === "]" && !first) break;
    const lo = element();
    if ("cls" in lo) {
      items.push(...POSIX_CLASSES[lo.cls]);
      continue;
    }
    if (p[pos] === "-" && pos + 1 < p.length && p[pos + 1] !== "]") {
      pos++;
      const hi = element();
      if ("cls" in hi || hi.cp < lo.cp) throw new RegexSyntaxError("Invalid range end");
      items.push([lo.cp, hi.cp]);
    } else {
      items.push([lo.cp, lo.cp]);
    }
  }
  return { items, negated, end: pos + 1 };
}

class PosixTranslator {
  #p: string;
  #flags: PosixFlags;
  #pos = 0;
  #groups = 0;
  #seq: Node[] = [];
  #open: { parent: Node[]; group: number }[] = [];

  constructor(pattern: string, flags: PosixFlags) {
    this.#p = pattern;
    this.#flags = flags;
  }

  translate(): TranslatedRegex {
    while (this.#pos < this.#p.length) {
      if (this.#flags.extended) this.#ere();
      else this.#bre();
    }
    if (this.#open.length > 0) throw new RegexSyntaxError("Unmatched ( or \\(");
    const { source, groupIndex } = serialize(this.#seq, this.#groups);
    const flags = "u" + (this.#flags.icase ? "i" : "");
    return { source, flags, groupCount: this.#groups, groupIndex };
  }

  #ere(): void {
    const c = this.#p[this.#pos];
    if (c === "(") return this.#openGroup(1);
    if (c === ")") {
      if (this.#open.length === 0) return this.#literal();
      return this.#closeGroup(1);
    }
    if (c === "|") {
      this.#pos++;
      this.#seq.push(alt);
      return;
    }
    if (c === "*" || c === "+" || c === "?") {
      this.#pos++;
      return this.#quantify(c, c);
    }
    if (c === "{") return this.#interval(1, "}");
    if (c === "^") return this.#anchorStart(1);
    if (c === "$") return this.#anchorEnd(1);
    this.#common();
  }

  #bre(): void {
    const p = this.#p;
    const c = p[this.#pos];
    const atStart = this.#seq.length === 0 || this.#seq[this.#seq.length - 1].t === "alt";
    if (c === "\\") {
      const next = p[this.#pos + 1];
      if (next === "(") return this.#openGroup(2);
      if (next === ")") return this.#closeGroup(2);
      if (next === "|") {
        this.#pos += 2;
        this.#seq.push(alt);
        return;
      }
      if (next === "+" || next === "?") {
        this.#pos += 2;
        return this.#quantify(next, "\\" + next);
      }
      if (next === "{") return this.#interval(2, "\\}");
    }
    if (c === "*") {
      const afterAnchor = this.#seq.length === 1 && this.#seq[0].t === "raw" &&
        !this.#seq[0].quantifiable;
      if (atStart || afterAnchor) return this.#literal();
      this.#pos++;
      return this.#quantify("*", "*");
    }
    if (c === "^" && atStart) return this.#anchorStart(1);
    if (c === "$") {
      const rest = p.slice(this.#pos + 1);
      if (rest === "" || rest.startsWith("\\)") || rest.startsWith("\\|")) {
        return this.#anchorEnd(1);
      }
    }
    if (c === "^" || c === "$") return this.#literal();
    this.#common();
  }

  /** What ERE and BRE share: escapes, brackets, "." and ordinary characters. */
  #common(): void {
    const c = this.#p[this.#pos];
    if (c === "\\") return this.#escape();
    if (c === "[") {
      const { items, negated, end } = parseBracket(this.#p, this.#pos + 1);
      // REG_NEWLINE: a non-matching list does not match a newline.
      if (negated && this.#flags.newline) items.push([10, 10]);
      this.#seq.push(raw(classSource(items, negated)));
      this.#pos = end;
      return;
    }
    if (c === ".") {
      this.#pos++;
      this.#seq.push(raw(this.#flags.newline ? "[^\\n]" : "[\\s\\S]"));
      return;
    }
    this.#literal();
  }

  #literal(): void {
    const cp = this.#p.codePointAt(this.#pos)!;
    this.#pos += cp > 0xffff ? 2 : 1;
    this.#seq.push(literalNode(cp));
  }

  #escape(): void {
    const next = this.#p[this.#pos + 1];
    if (next === undefined) throw new RegexSyntaxError("Trailing backslash");
    this.#pos += 2;
    if (next >= "1" && next <= "9") {
      const n = Number(next);
      if (n > this.#groups) throw new RegexSyntaxError("Invalid back reference");
      this.#seq.push({ t: "ref", to: { user: n } });
      return;
    }
    const gnu: Record<string, [string, boolean]> = {
      w: ["\\w", true],
      W: ["\\W", true],
      s: [C_SPACE, true],
      S: [C_NON_SPACE, true],
      b: ["\\b", false],
      B: ["\\B", false],
      "<": ["\\b(?=\\w)", false],
      ">": ["\\b(?<=\\w)", false],
      "`": ["(?<![\\s\\S])", false],
      "'": ["(?![\\s\\S])", false],
    };
    if (gnu[next]) {
      this.#seq.push(raw(...gnu[next]));
      return;
    }
    if (/[A-Za-z0-9]/.test(next)) {
      throw new UnsupportedRegexError(
        `"\\${next}" is not a POSIX regular expression escape` +
          (next === "d" ? " (use [0-9] or [[:digit:]])" : "") + "; Perl escapes need a pcre: table",
      );
    }
    this.#pos -= 1;
    this.#literal();
  }

  #openGroup(width: number): void {
    this.#pos += width;
    this.#groups++;
    this.#open.push({ parent: this.#seq, group: this.#groups });
    this.#seq = [];
  }

  #closeGroup(width: number): void {
    const frame = this.#open.pop();
    if (!frame) throw new RegexSyntaxError("Unmatched ) or \\)");
    this.#pos += width;
    const node: Node = { t: "group", open: "(", capture: { user: frame.group }, body: this.#seq };
    this.#seq = frame.parent;
    this.#seq.push(node);
  }

  #quantify(q: string, what: string): void {
    const last = this.#seq[this.#seq.length - 1];
    if (!last || last.t === "alt" || (last.t === "raw" && !last.quantifiable)) {
      throw new RegexSyntaxError("Invalid preceding regular expression");
    }
    quantifyLast(this.#seq, q, what);
  }

  /** {m}, {m,}, {m,n}, {,n}; glibc errors on anything else after "{". */
  #interval(width: number, close: string): void {
    const p = this.#p;
    const end = p.indexOf(close, this.#pos + width);
    if (end < 0) throw new RegexSyntaxError("Unmatched \\{");
    const body = p.slice(this.#pos + width, end);
    const m = /^(\d*)(?:(,)(\d*))?$/.exec(body);
    if (!m || (m[1] === "" && !m[2])) throw new RegexSyntaxError("Invalid content of \\{\\}");
    const min = m[1] === "" ? 0 : Number(m[1]);
    const max = m[2] ? (m[3] === "" ? undefined : Number(m[3])) : min;
    if ((max !== undefined && max < min) || min > RE_DUP_MAX || (max ?? 0) > RE_DUP_MAX) {
      throw new RegexSyntaxError("Invalid content of \\{\\}");
    }
    this.#pos = end + close.length;
    const q = max === min ? `{${min}}` : `{${min},${max ?? ""}}`;
    this.#quantify(q, "{" + body + "}");
  }

  #anchorStart(width: number): void {
    this.#pos += width;
    this.#seq.push(raw(this.#flags.newline ? "(?<![^\\n])" : "^", false));
  }

  #anchorEnd(width: number): void {
    this.#pos += width;
    this.#seq.push(raw(this.#flags.newline ? "(?![^\\n])" : "$", false));
  }
}

/** Translate a POSIX pattern; throws RegexSyntaxError with glibc's wording where it applies. */
export function translatePosix(pattern: string, flags: PosixFlags): TranslatedRegex {
  return new PosixTranslator(pattern, flags).translate();
}
