/**
 * PCRE patterns (pcre_table(5), PCRE2 as Debian's Postfix 3.7 uses it)
 * translated to JavaScript.
 *
 * Translated: the table flags i m s x A E U; inline options (?imnsxU-imnsxU)
 * and (?flags:...); atomic groups (?>...) and possessive quantifiers (emulated
 * with a lookahead capture, group numbers of $1... unchanged); named groups
 * (?<n>) (?'n') (?P<n>) and references \k<n> \k'n' \k{n} \g{n} \g{-n} (?P=n);
 * \Q...\E; \A \z \Z \G; \h \H \v \V \R \N; \x{..} \o{..} \e \a \cX and octal
 * escapes; POSIX classes [:name:] and [:^name:]; (?#comments).
 *
 * Refused with an error (JavaScript cannot do them): recursion and
 * subroutine calls, conditionals, branch reset (?|...), \K, \X, \C, callouts
 * and (*VERB)s, duplicate group names (?J).
 */

import {
  alt,
  type Capture,
  type ClassItem,
  classSource,
  complement,
  literalNode,
  type Node,
  POSIX_CLASSES,
  quantifyLast,
  type Range,
  raw,
  RegexSyntaxError,
  serialize,
  UnsupportedRegexError,
} from "./regex_ast.ts";
import type { TranslatedRegex } from "./posix_regex.ts";

export interface PcreFlags {
  caseless: boolean;
  multiline: boolean;
  dotall: boolean;
  extended: boolean;
  anchored: boolean;
  dollarEndOnly: boolean;
  ungreedy: boolean;
}

interface InlineFlags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
  U: boolean;
  /** PCRE2_NO_AUTO_CAPTURE: plain (...) does not capture. */
  n: boolean;
}

interface Frame {
  open: string;
  capture?: Capture;
  atomic: boolean;
  /** The group's own body; alternatives are separated by `alt` nodes here. */
  body: Node[];
  /** Where atoms go: the body, or a (?i:...) wrapper inside it after an inline option change. */
  cur: Node[];
  flags: InlineFlags;
  /** Whether JS matches case-insensitively at the start of this group. */
  baseCase: boolean;
}

const PCRE_SPACE: Range[] = [[0x09, 0x0d], [0x20, 0x20]];
const HORIZONTAL_SPACE: Range[] = [
  [0x09, 0x09],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x180e, 0x180e],
  [0x2000, 0x200a],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
];
const VERTICAL_SPACE: Range[] = [[0x0a, 0x0d], [0x85, 0x85], [0x2028, 0x2029]];
const CLASS_ESCAPES: Record<string, Range[]> = {
  s: PCRE_SPACE,
  S: complement(PCRE_SPACE),
  h: HORIZONTAL_SPACE,
  H: complement(HORIZONTAL_SPACE),
  v: VERTICAL_SPACE,
  V: complement(VERTICAL_SPACE),
};
const SIMPLE_CHARS: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, e: 27, a: 7 };
const POSIX_WORD: Range[] = [...POSIX_CLASSES.alnum, [0x5f, 0x5f]];
const MAX_REPEAT = 65535;

const isPcreSpace = (ch: string) => " \t\n\v\f\r".includes(ch);

class PcreTranslator {
  #p: string;
  #pcre: PcreFlags;
  #pos = 0;
  #groups = 0;
  #synthetic = 0;
  #stack: Frame[];

  constructor(pattern: string, flags: PcreFlags) {
    this.#p = pattern;
    this.#pcre = flags;
    const inline = {
      i: flags.caseless,
      m: flags.multiline,
      s: flags.dotall,
      x: flags.extended,
      U: flags.ungreedy,
      n: false,
    };
    const body: Node[] = [];
    this.#stack = [{ open: "", atomic: false, body, cur: body, flags: inline, baseCase: inline.i }];
  }

  get #frame(): Frame {
    return this.#stack[this.#stack.length - 1];
  }

  #error(what: string, at = this.#pos): RegexSyntaxError {
    return new RegexSyntaxError(`${what} at offset ${at}`);
  }

  /** Valid PCRE that JavaScript cannot run: the table is refused, not the rule skipped. */
  #unsupported(what: string, at = this.#pos): RegexSyntaxError {
    return new UnsupportedRegexError(`${what} at offset ${at}`);
  }

  #push(node: Node): void {
    this.#frame.cur.push(node);
  }

  translate(): TranslatedRegex {
    while (this.#pos < this.#p.length) this.#token();
    if (this.#stack.length > 1) throw this.#error("missing closing parenthesis");
    const { source, groupIndex } = serialize(this.#stack[0].body, this.#groups);
    const flags = "u" + (this.#pcre.caseless ? "i" : "") + (this.#pcre.anchored ? "y" : "");
    return { source, flags, groupCount: this.#groups, groupIndex };
  }

  #token(): void {
    const p = this.#p;
    const c = p[this.#pos];
    const { flags } = this.#frame;
    if (flags.x && isPcreSpace(c)) {
      this.#pos++;
      return;
    }
    if (flags.x && c === "#") {
      const nl = p.indexOf("\n", this.#pos);
      this.#pos = nl < 0 ? p.length : nl + 1;
      return;
    }
    switch (c) {
      case "\\":
        return this.#escape();
      case "[":
        return this.#class();
      case "(":
        return this.#openGroup();
      case ")":
        return this.#closeGroup();
      case "|":
        this.#pos++;
        return this.#alternation();
      case ".":
        this.#pos++;
        return this.#push(raw(flags.s ? "[\\s\\S]" : "[^\\n]"));
      case "^":
        this.#pos++;
        return this.#push(raw(flags.m ? "(?<![^\\n])" : "^", false));
      case "$": {
        this.#pos++;
        const end = flags.m ? "(?![^\\n])" : this.#pcre.dollarEndOnly ? "$" : "(?=\\n?$)";
        return this.#push(raw(end, false));
      }
      case "*":
      case "+":
      case "?":
        this.#pos++;
        return this.#quantifier(c);
      case "{": {
        const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(p.slice(this.#pos));
        if (!m) break;
        const min = Number(m[1]);
        const max = m[2] ? (m[3] === "" ? undefined : Number(m[3])) : min;
        if (min > MAX_REPEAT || (max ?? 0) > MAX_REPEAT) {
          throw this.#error("number too big in {} quantifier");
        }
        if (max !== undefined && max < min) {
          throw this.#error("numbers out of order in {} quantifier");
        }
        this.#pos += m[0].length;
        return this.#quantifier(max === min ? `{${min}}` : `{${min},${max ?? ""}}`);
      }
    }
    const cp = p.codePointAt(this.#pos)!;
    this.#pos += cp > 0xffff ? 2 : 1;
    this.#push(literalNode(cp));
  }

  #quantifier(base: string): void {
    const p = this.#p;
    let lazy = false;
    let possessive = false;
    if (p[this.#pos] === "?") {
      lazy = true;
      this.#pos++;
    } else if (p[this.#pos] === "+") {
      possessive = true;
      this.#pos++;
    }
    if (this.#frame.flags.U && !possessive) lazy = !lazy;
    const seq = this.#frame.cur;
    quantifyLast(seq, base + (lazy ? "?" : ""), base);
    if (possessive) seq.push(this.#atomic([seq.pop()!]));
  }

  /** (?>X) as (?:(?=(X))\k): the lookahead is never backtracked into. */
  #atomic(body: Node[]): Node {
    const capture: Capture = { synthetic: ++this.#synthetic };
    const inner: Node = { t: "group", open: "(", capture, body };
    return {
      t: "group",
      open: "(?:",
      body: [{ t: "group", open: "(?=", body: [inner] }, { t: "ref", to: capture }],
    };
  }

  #alternation(): void {
    const frame = this.#frame;
    frame.body.push(alt);
    frame.cur = frame.body;
    if (frame.flags.i !== frame.baseCase) this.#wrapCase(frame);
  }

  /** After an inline (?i) or (?-i), continue inside a (?i:...) / (?-i:...) wrapper. */
  #setCase(frame: Frame, caseless: boolean): void {
    if (caseless === frame.flags.i) return;
    frame.flags.i = caseless;
    frame.cur = frame.body;
    if (caseless !== frame.baseCase) this.#wrapCase(frame);
  }

  #wrapCase(frame: Frame): void {
    const wrapper: Node = { t: "group", open: frame.flags.i ? "(?i:" : "(?-i:", body: [] };
    frame.body.push(wrapper);
    frame.cur = wrapper.body;
  }

  #openFrame(open: string, options: { capture?: Capture; atomic?: boolean; flags?: InlineFlags }) {
    const parent = this.#frame;
    const flags = options.flags ?? { ...parent.flags };
    let opener = open;
    if (flags.i !== parent.flags.i) opener = flags.i ? "(?i:" : "(?-i:";
    const body: Node[] = [];
    this.#stack.push({
      open: opener,
      capture: options.capture,
      atomic: options.atomic ?? false,
      body,
      cur: body,
      flags,
      baseCase: flags.i,
    });
  }

  #closeGroup(): void {
    if (this.#stack.length === 1) throw this.#error("unmatched closing parenthesis");
    this.#pos++;
    const frame = this.#stack.pop()!;
    const node: Node = frame.atomic
      ? this.#atomic(frame.body)
      : { t: "group", open: frame.open, capture: frame.capture, body: frame.body };
    this.#push(node);
  }

  #newGroup(): Capture {
    return { user: ++this.#groups };
  }

  #openGroup(): void {
    const p = this.#p;
    const start = this.#pos;
    this.#pos++;
    if (p[this.#pos] === "*") {
      throw this.#unsupported("(*VERB) and (*OPTION) items are not supported");
    }
    if (p[this.#pos] !== "?") {
      if (this.#frame.flags.n) return this.#openFrame("(?:", {});
      return this.#openFrame("(", { capture: this.#newGroup() });
    }
    this.#pos++;
    const rest = p.slice(this.#pos);
    const named = /^(?:<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)'|P<([A-Za-z_]\w*)>)/.exec(rest);
    if (named) {
      this.#pos += named[0].length;
      const name = named[1] ?? named[2] ?? named[3];
      return this.#openFrame(`(?<${name}>`, { capture: this.#newGroup() });
    }
    const simple: Record<string, string> = {
      ":": "(?:",
      "=": "(?=",
      "!": "(?!",
      "<=": "(?<=",
      "<!": "(?<!",
    };
    for (const [intro, open] of Object.entries(simple)) {
      if (rest.startsWith(intro)) {
        this.#pos += intro.length;
        return this.#openFrame(open, {});
      }
    }
    if (rest.startsWith(">")) {
      this.#pos++;
      return this.#openFrame("(?:", { atomic: true });
    }
    const refByName = /^P=([A-Za-z_]\w*)\)/.exec(rest);
    if (refByName) {
      this.#pos += refByName[0].length;
      return this.#push(raw(`(?:\\k<${refByName[1]}>)`));
    }
    if (rest.startsWith("#")) {
      const close = p.indexOf(")", this.#pos);
      if (close < 0) throw this.#error("missing ) after (?# comment", start);
      this.#pos = close + 1;
      return;
    }
    if (/^(?:R|[+-]?\d|&|P>)/.test(rest)) {
      throw this.#unsupported("recursion and subroutine calls are not supported", start);
    }
    if (rest.startsWith("(")) {
      throw this.#unsupported("conditional groups are not supported", start);
    }
    if (rest.startsWith("|")) {
      throw this.#unsupported("branch reset groups (?|...) are not supported", start);
    }
    if (rest.startsWith("C")) throw this.#unsupported("callouts are not supported", start);
    this.#inlineOptions(start);
  }

  /** (?imnsxU-imnsxU) for the rest of the group, or (?imnsxU-imnsxU:...) for a new group. */
  #inlineOptions(start: number): void {
    const p = this.#p;
    const flags = { ...this.#frame.flags };
    let on = true;
    if (p[this.#pos] === "^") {
      Object.assign(flags, { i: false, m: false, n: false, s: false, x: false });
      this.#pos++;
    }
    for (; this.#pos < p.length; this.#pos++) {
      const c = p[this.#pos];
      if (c === ")" || c === ":") break;
      if (c === "-") {
        on = false;
      } else if (c === "i" || c === "m" || c === "s" || c === "x" || c === "U" || c === "n") {
        flags[c] = on;
      } else if (c === "J") {
        throw this.#unsupported("duplicate group names (?J) are not supported", start);
      } else {
        throw this.#error(`unrecognized character after (? or (?-: "${c}"`, start);
      }
    }
    const end = p[this.#pos];
    if (end === undefined) throw this.#error("missing closing parenthesis", start);
    this.#pos++;
    if (end === ":") return this.#openFrame("(?:", { flags });
    const frame = this.#frame;
    const caseless = flags.i;
    flags.i = frame.flags.i;
    frame.flags = flags;
    this.#setCase(frame, caseless);
  }

  /** Escapes that stand for one character, shared by classes and the pattern; undefined if not one. */
  #charEscape(c: string): number | undefined {
    const p = this.#p;
    if (c in SIMPLE_CHARS) return SIMPLE_CHARS[c];
    if (c === "x") {
      if (p[this.#pos] === "{") return this.#braced(/^\{([0-9A-Fa-f]+)\}/, 16, "\\x{...}");
      const m = /^[0-9A-Fa-f]{0,2}/.exec(p.slice(this.#pos))![0];
      this.#pos += m.length;
      return m === "" ? 0 : parseInt(m, 16);
    }
    if (c === "o") return this.#braced(/^\{([0-7]+)\}/, 8, "\\o{...}");
    if (c === "0") {
      const m = /^[0-7]{0,2}/.exec(p.slice(this.#pos))![0];
      this.#pos += m.length;
      return parseInt("0" + m, 8);
    }
    if (c === "c") {
      const x = p[this.#pos++];
      if (x === undefined || x < " " || x > "~") {
        throw this.#error("\\c must be followed by a printable ASCII character");
      }
      return x.toUpperCase().charCodeAt(0) ^ 0x40;
    }
    return undefined;
  }

  #braced(re: RegExp, radix: number, what: string): number {
    const m = re.exec(this.#p.slice(this.#pos));
    if (!m) throw this.#error(`malformed ${what}`);
    this.#pos += m[0].length;
    const cp = parseInt(m[1], radix);
    if (cp > 0x10ffff) throw this.#error(`character code point value in ${what} is too large`);
    return cp;
  }

  /** \Q...\E: everything up to \E (or the end) is literal. */
  #quoted(): number[] {
    const p = this.#p;
    const end = p.indexOf("\\E", this.#pos);
    const text = p.slice(this.#pos, end < 0 ? p.length : end);
    this.#pos = end < 0 ? p.length : end + 2;
    return [...text].map((ch) => ch.codePointAt(0)!);
  }

  #property(c: string): string {
    const p = this.#p;
    const m = /^(?:\{(\^?)([\w&= ]+)\}|([A-Za-z]))/.exec(p.slice(this.#pos));
    if (!m) throw this.#error(`malformed \\${c} property`);
    this.#pos += m[0].length;
    const negated = (c === "P") !== (m[1] === "^");
    return `\\${negated ? "P" : "p"}{${(m[2] ?? m[3]).replace(/ /g, "")}}`;
  }

  #escape(): void {
    const p = this.#p;
    const start = this.#pos;
    const c = p[this.#pos + 1];
    if (c === undefined) throw this.#error("\\ at end of pattern");
    this.#pos += 2;
    if (c >= "1" && c <= "9") {
      const digits = c + /^\d*/.exec(p.slice(this.#pos))![0];
      this.#pos += digits.length - 1;
      return this.#push(
        digits.length === 1
          ? { t: "ref", to: { user: Number(digits) } }
          : { t: "ambiguous", digits },
      );
    }
    if (c === "g") return this.#gReference(start);
    if (c === "k") {
      const m = /^(?:<(\w+)>|'(\w+)'|\{(\w+)\})/.exec(p.slice(this.#pos));
      if (!m) throw this.#error("\\k is not followed by a group name", start);
      this.#pos += m[0].length;
      return this.#push(raw(`(?:\\k<${m[1] ?? m[2] ?? m[3]}>)`));
    }
    const assertions: Record<string, string> = {
      A: "(?<![\\s\\S])",
      G: "(?<![\\s\\S])",
      z: "(?![\\s\\S])",
      Z: "(?=\\n?(?![\\s\\S]))",
      b: "\\b",
      B: "\\B",
    };
    if (c in assertions) return this.#push(raw(assertions[c], false));
    if ("dDwW".includes(c)) return this.#push(raw("\\" + c));
    if (c in CLASS_ESCAPES) return this.#push(raw(classSource(CLASS_ESCAPES[c], false)));
    if (c === "R") return this.#push(raw("(?:\\r\\n|[\\n\\v\\f\\r\\x85\\u2028\\u2029])"));
    if (c === "N") return this.#push(raw("[^\\n]"));
    if (c === "p" || c === "P") return this.#push(raw(this.#caseSensitive(this.#property(c))));
    if (c === "Q") return this.#quoted().forEach((cp) => this.#push(literalNode(cp)));
    if (c === "E") return;
    if ("KXC".includes(c)) throw this.#unsupported(`\\${c} is not supported`, start);
    const cp = this.#charEscape(c);
    if (cp !== undefined) return this.#push(literalNode(cp));
    if (/[A-Za-z0-9]/.test(c)) {
      throw this.#error(`unrecognized character follows \\: "${c}"`, start);
    }
    this.#pos -= 1;
    const lit = p.codePointAt(this.#pos)!;
    this.#pos += lit > 0xffff ? 2 : 1;
    this.#push(literalNode(lit));
  }

  #gReference(start: number): void {
    const m = /^(?:\{(-?\d+)\}|(-?\d+)|\{([A-Za-z_]\w*)\})/.exec(this.#p.slice(this.#pos));
    if (!m) throw this.#unsupported("subroutine calls \\g<...> are not supported", start);
    this.#pos += m[0].length;
    if (m[3]) return this.#push(raw(`(?:\\k<${m[3]}>)`));
    let n = Number(m[1] ?? m[2]);
    if (n < 0) n = this.#groups + n + 1;
    if (n <= 0) throw this.#error("reference to non-existent subpattern", start);
    this.#push({ t: "ref", to: { user: n } });
  }

  /** A character class; PCRE rules (backslash escapes work inside). */
  #class(): void {
    const p = this.#p;
    const start = this.#pos;
    this.#pos++;
    const negated = p[this.#pos] === "^";
    if (negated) this.#pos++;
    const items: ClassItem[] = [];
    for (let first = true;; first = false) {
      if (this.#pos >= p.length) {
        throw this.#error("missing terminating ] for character class", start);
      }
      if (p[this.#pos] === "]" && !first) break;
      const lo = this.#classAtom();
      if (typeof lo !== "number") {
        items.push(...lo);
        continue;
      }
      if (p[this.#pos] === "-" && this.#pos + 1 < p.length && p[this.#pos + 1] !== "]") {
        const dash = this.#pos;
        this.#pos++;
        const hi = this.#classAtom();
        if (typeof hi !== "number") {
          items.push([lo, lo], [0x2d, 0x2d], ...hi); // "[a-\d]": the "-" is literal
          continue;
        }
        if (hi < lo) throw this.#error("range out of order in character class", dash);
        items.push([lo, hi]);
      } else {
        items.push([lo, lo]);
      }
    }
    this.#pos++;
    this.#push(raw(this.#classWithProperties(items, negated)));
  }

  /** PCRE2: caseless matching does not apply to \p{..} (\p{Lu} stays upper case only). */
  #caseSensitive(source: string): string {
    return this.#frame.flags.i ? `(?-i:${source})` : source;
  }

  /** A class whose \p{..} members must ignore the caseless flag while the other members follow it. */
  #classWithProperties(items: ClassItem[], negated: boolean): string {
    const isProperty = (item: ClassItem) => typeof item === "string" && /^\\[pP]/.test(item);
    const properties = items.filter(isProperty);
    if (!this.#frame.flags.i || properties.length === 0) return classSource(items, negated);
    const others = items.filter((item) => !isProperty(item));
    const props = `(?-i:${classSource(properties, false)})`;
    if (negated) return `(?!${props})${others.length ? classSource(others, true) : "[\\s\\S]"}`;
    return others.length ? `(?:${props}|${classSource(others, false)})` : props;
  }

  /** One class member: a code point, or a list of items (class escapes, [:name:], \Q..\E). */
  #classAtom(): number | ClassItem[] {
    const p = this.#p;
    const start = this.#pos;
    if (p[this.#pos] === "[" && ":.=".includes(p[this.#pos + 1] ?? "")) {
      const kind = p[this.#pos + 1];
      const close = p.indexOf(kind + "]", this.#pos + 2);
      if (close >= 0) {
        if (kind !== ":") {
          throw this.#unsupported("POSIX collating elements are not supported", start);
        }
        let name = p.slice(this.#pos + 2, close);
        const negated = name.startsWith("^");
        if (negated) name = name.slice(1);
        const ranges = name === "word" ? POSIX_WORD : POSIX_CLASSES[name];
        if (!ranges) throw this.#error(`unknown POSIX class name "${name}"`, start);
        this.#pos = close + 2;
        return negated ? complement(ranges) : [...ranges];
      }
    }
    if (p[this.#pos] !== "\\") {
      const cp = p.codePointAt(this.#pos)!;
      this.#pos += cp > 0xffff ? 2 : 1;
      return cp;
    }
    const c = p[this.#pos + 1];
    if (c === undefined) throw this.#error("\\ at end of pattern");
    this.#pos += 2;
    if ("dDwW".includes(c)) return ["\\" + c];
    if (c in CLASS_ESCAPES) return [...CLASS_ESCAPES[c]];
    if (c === "p" || c === "P") return [this.#property(c)];
    if (c === "b") return 0x08;
    if (c === "Q") return this.#quoted().map((cp): Range => [cp, cp]);
    if (c === "E") return [];
    if (c >= "1" && c <= "7") {
      const m = /^[0-7]{0,2}/.exec(p.slice(this.#pos))![0];
      this.#pos += m.length;
      return parseInt(c + m, 8);
    }
    const cp = this.#charEscape(c);
    if (cp !== undefined) return cp;
    if (/[A-Za-z0-9]/.test(c)) {
      throw this.#error(`unrecognized character follows \\: "${c}"`, start);
    }
    this.#pos -= 1;
    const lit = p.codePointAt(this.#pos)!;
    this.#pos += lit > 0xffff ? 2 : 1;
    return lit;
  }
}

/** Translate a PCRE pattern; throws RegexSyntaxError naming what JS cannot do. */
export function translatePcre(pattern: string, flags: PcreFlags): TranslatedRegex {
  return new PcreTranslator(pattern, flags).translate();
}
