/**
 * Where the addresses are in an address-list header body (RFC 5322 3.4:
 * mailbox, name-addr, group), as Postfix's tok822_parse() finds them, with
 * their positions so that only the address text is replaced and everything
 * else (display names, comments, encoded words, folding) stays byte for byte.
 *
 * The text is a "binary string" (one char per byte), so positions are byte
 * offsets and 8-bit bytes pass through untouched.
 *
 * Like tok822_parse(): in "phrase <addr>" only what is inside the angle
 * brackets is the address; a group's display name ("team:") is not an
 * address; without angle brackets two adjacent words are two addresses
 * ("To: john smith" is john and smith); comments are not part of addresses.
 */

type Kind = "atom" | "qstring" | "comment" | "domlit" | "op";

interface Token {
  kind: Kind;
  /** For "op", the character; otherwise the raw text including quotes/brackets. */
  raw: string;
  start: number;
  end: number;
}

/** RFC 822 specials, plus "%" and "!" which tok822 also treats as operators. */
const SPECIALS = '()<>@,;:\\".[]';
const OPERATORS = "()<>@,;:.[]%!";
const SPACE = " \t\r\n";

/** Scans to the end of a quoted string or domain literal starting at `start` (the opener). */
function scanQuoted(text: string, start: number, close: string): number {
  let i = start + 1;
  while (i < text.length && text[i] !== close) i += text[i] === "\\" ? 2 : 1;
  return Math.min(i + 1, text.length);
}

function scanComment(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const ch = text[i];
    if (ch === "\\") {
      i += 2;
      continue;
    }
    if (ch === "(") depth++;
    if (ch === ")" && --depth === 0) return i + 1;
    i++;
  }
  return text.length;
}

export function scanHeaderTokens(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    let end: number;
    let kind: Kind;
    if (SPACE.includes(ch)) {
      i++;
      continue;
    } else if (ch === "(") {
      [kind, end] = ["comment", scanComment(text, i)];
    } else if (ch === '"') {
      [kind, end] = ["qstring", scanQuoted(text, i, '"')];
    } else if (ch === "[") {
      [kind, end] = ["domlit", scanQuoted(text, i, "]")];
    } else if (OPERATORS.includes(ch)) {
      [kind, end] = ["op", i + 1];
    } else {
      end = i;
      while (
        end < text.length && !SPACE.includes(text[end]) &&
        !(SPECIALS.includes(text[end]) || text[end] === "%" || text[end] === "!")
      ) end++;
      if (end === i) end = i + 1; // a lone backslash: an atom of its own
      kind = "atom";
    }
    tokens.push({ kind, raw: text.slice(i, end), start: i, end });
    i = end;
  }
  return tokens;
}

export interface AddressSpan {
  /** Byte offsets of the address text in the header body. */
  start: number;
  end: number;
  /** The address in internal (unquoted) form. */
  address: string;
}

const isOp = (t: Token, ch: string) => t.kind === "op" && t.raw === ch;
const isWord = (t: Token) => t.kind === "atom" || t.kind === "qstring";

/** Internal form of an address's tokens: quoted strings unquoted, nothing else changed. */
function internal(tokens: Token[]): string {
  return tokens.map((t) =>
    t.kind === "qstring"
      ? t.raw.slice(1, t.raw.endsWith('"') ? -1 : undefined).replace(/\\(.)/g, "$1")
      : t.raw
  ).join("");
}

function span(tokens: Token[]): AddressSpan | undefined {
  const parts = tokens.filter((t) => t.kind !== "comment");
  if (parts.length === 0) return undefined;
  return { start: tokens[0].start, end: tokens[tokens.length - 1].end, address: internal(parts) };
}

/** One mailbox (between commas): the address inside <...>, or the words themselves. */
function mailboxSpans(tokens: Token[]): AddressSpan[] {
  const open = tokens.findLastIndex((t) => isOp(t, "<"));
  if (open >= 0) {
    let close = tokens.findIndex((t, i) => i > open && isOp(t, ">"));
    if (close < 0) close = tokens.length;
    const inner = tokens.slice(open + 1, close);
    const found = inner.length === 0 ? undefined : span(inner);
    return found ? [found] : [];
  }
  // Without angle brackets, a comma is implied between two adjacent words.
  const groups: Token[][] = [[]];
  let previous: Token | undefined;
  for (const t of tokens) {
    if (t.kind === "comment") continue;
    if (previous && isWord(previous) && isWord(t)) groups.push([]);
    groups[groups.length - 1].push(t);
    previous = t;
  }
  return groups.flatMap((g) => {
    const found = g.length === 0 ? undefined : span(g);
    return found ? [found] : [];
  });
}

/** Every address in an address-list header body, in order. */
export function findHeaderAddresses(text: string): AddressSpan[] {
  const tokens = scanHeaderTokens(text);
  const out: AddressSpan[] = [];
  let current: Token[] = [];
  let angle = 0;
  const flush = () => {
    out.push(...mailboxSpans(current));
    current = [];
  };
  for (const t of tokens) {
    if (isOp(t, "<")) angle++;
    if (isOp(t, ">")) angle = Math.max(0, angle - 1);
    if (angle === 0 && (isOp(t, ",") || isOp(t, ";"))) {
      flush();
    } else if (angle === 0 && isOp(t, ":") && !current.some((c) => isOp(c, "@"))) {
      current = []; // RFC 5322 3.4 group: "display-name:" names the group, it is no address
    } else {
      current.push(t);
    }
  }
  flush();
  return out;
}
