/**
 * A small tree for translating POSIX and PCRE patterns to JavaScript RegExp
 * source (flag "u"). The translators emit every literal character
 * themselves (`\u{..}` escapes), so no JS syntax leaks through, and capture
 * groups are numbered only when the tree is written out: translations that
 * add groups (atomic groups, possessive quantifiers) keep `$n` and `\n`
 * pointing at the groups the user wrote.
 */

export class RegexSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegexSyntaxError";
  }
}

/**
 * A pattern Postfix accepts but facteur cannot run the same way (PCRE
 * recursion, \K, (*VERB)...). Postfix would use the rule, so skipping it
 * would silently change the table: the whole table is refused instead.
 */
export class UnsupportedRegexError extends RegexSyntaxError {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedRegexError";
  }
}

/** A capture group: one the user wrote (numbered 1..n) or one the translation added. */
export type Capture = { user: number } | { synthetic: number };

export type Node =
  | { t: "raw"; s: string; quantifiable: boolean }
  | { t: "group"; open: string; capture?: Capture; body: Node[] }
  | { t: "quant"; atom: Node; q: string }
  | { t: "ref"; to: Capture }
  /** PCRE `\12`: a back reference when that group exists, else an octal character. */
  | { t: "ambiguous"; digits: string }
  | { t: "alt" };

export const raw = (s: string, quantifiable = true): Node => ({ t: "raw", s, quantifiable });
export const alt: Node = { t: "alt" };

export type Range = [number, number];
export const MAX_CODE_POINT = 0x10ffff;

/** A literal code point as JS source: letters and digits as they are, everything else escaped. */
export function literal(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return /^[A-Za-z0-9]$/.test(ch) ? ch : `\\u{${cp.toString(16)}}`;
}

export const literalNode = (cp: number): Node => raw(literal(cp));

/** The ASCII character classes of the C locale, shared by POSIX brackets and PCRE. */
export const POSIX_CLASSES: Record<string, Range[]> = {
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  digit: [[0x30, 0x39]],
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  upper: [[0x41, 0x5a]],
  lower: [[0x61, 0x7a]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  print: [[0x20, 0x7e]],
  graph: [[0x21, 0x7e]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

/** The complement of sorted, non-overlapping ranges within [0, MAX_CODE_POINT]. */
export function complement(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const result: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) result.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CODE_POINT) result.push([next, MAX_CODE_POINT]);
  return result;
}

/** One member of a bracket expression: a code point range or a JS class escape such as `\d`. */
export type ClassItem = Range | string;

export function classSource(items: ClassItem[], negated: boolean): string {
  const body = items.map((item) =>
    typeof item === "string"
      ? item
      : item[0] === item[1]
      ? literal(item[0])
      : `${literal(item[0])}-${literal(item[1])}`
  ).join("");
  return `[${negated ? "^" : ""}${body}]`;
}

/** Apply a quantifier to the last node of a sequence, wrapping it when it already has one. */
export function quantifyLast(seq: Node[], q: string, what: string): void {
  const last = seq.pop();
  if (!last || last.t === "alt" || (last.t === "raw" && !last.quantifiable)) {
    throw new RegexSyntaxError(`quantifier "${what}" does not follow a repeatable item`);
  }
  const atom: Node = last.t === "quant" ? { t: "group", open: "(?:", body: [last] } : last;
  seq.push({ t: "quant", atom, q });
}

function walk(nodes: Node[], visit: (node: Node) => void): void {
  for (const node of nodes) {
    visit(node);
    if (node.t === "group") walk(node.body, visit);
    else if (node.t === "quant") walk([node.atom], visit);
  }
}

const captureKey = (c: Capture) => ("user" in c ? `u${c.user}` : `s${c.synthetic}`);

export interface Serialized {
  source: string;
  /** JS group index for each user group (index 1..n; index 0 unused). */
  groupIndex: number[];
}

/** Number the capture groups in source order, then write the JS source. */
export function serialize(nodes: Node[], userGroups: number): Serialized {
  const index = new Map<string, number>();
  walk(nodes, (node) => {
    if (node.t === "group" && node.capture) index.set(captureKey(node.capture), index.size + 1);
  });
  const refTo = (c: Capture) => {
    const n = index.get(captureKey(c));
    if (n === undefined) throw new RegexSyntaxError("reference to non-existent subpattern");
    return `(?:\\${n})`;
  };
  const write = (node: Node): string => {
    switch (node.t) {
      case "raw":
        return node.s;
      case "alt":
        return "|";
      case "group":
        return node.open + node.body.map(write).join("") + ")";
      case "quant":
        return write(node.atom) + node.q;
      case "ref":
        return refTo(node.to);
      case "ambiguous": {
        const n = Number(node.digits);
        if (n <= userGroups) return refTo({ user: n });
        if (/^[0-7]+$/.test(node.digits)) return literal(parseInt(node.digits, 8));
        throw new RegexSyntaxError(`reference to non-existent subpattern \\${node.digits}`);
      }
    }
  };
  const groupIndex = [0];
  for (let n = 1; n <= userGroups; n++) groupIndex.push(index.get(`u${n}`) ?? 0);
  return { source: nodes.map(write).join(""), groupIndex };
}
