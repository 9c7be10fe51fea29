/**
 * RFC 822 tokens as Postfix's tok822_scan() sees them, for aliases(5) lines
 * and for splitting alias values into destinations (local(8)).
 *
 * Token kinds: atom, quoted string, comment "(...)" (kept in external form),
 * domain literal "[...]", and single-character operators: the RFC 822 specials
 * `()<>@,;:\".[]` plus `|`, `%` and `!` (Postfix adds these "because the real
 * world is not all RFC 822").
 */

export type TokenKind = "atom" | "qstring" | "comment" | "domlit" | "op";

export interface Token {
  kind: TokenKind;
  /** Unquoted text; for "op" the operator character; for "comment" the text with its parentheses. */
  text: string;
}

const OPERATORS = '|%!()<>@,;:\\".[]';
const SPACES = " \t\r\n";

/** An atom that holds a special character or white space must be quoted when written out. */
function atomNeedsQuotes(text: string): boolean {
  return [...text].some((ch) => ch === " " || ch < " " || ch === "\x7f" || OPERATORS.includes(ch));
}

/** Collect up to (not including) `close`, honouring backslash escapes; white space becomes a space. */
function collect(input: string, start: number, close: string): { text: string; end: number } {
  let text = "";
  let i = start;
  for (; i < input.length && input[i] !== close; i++) {
    let ch = input[i];
    if (ch === "\\") {
      if (i + 1 >= input.length) {
        i = input.length;
        break;
      }
      ch = input[++i];
    }
    text += SPACES.includes(ch) ? " " : ch;
  }
  return { text, end: i };
}

function comment(input: string, start: number): { text: string; end: number; closed: boolean } {
  let depth = 1;
  let i = start;
  for (; i < input.length && depth > 0; i++) {
    const ch = input[i];
    if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "\\" && i + 1 < input.length) i++;
  }
  return { text: "(" + input.slice(start, i), end: i, closed: depth === 0 };
}

export interface ScanResult {
  tokens: Token[];
  /** Set when a quoted string, comment or domain literal is not closed. */
  unterminated?: '"' | "(" | "[";
}

export function scanTokens(input: string): ScanResult {
  const tokens: Token[] = [];
  let unterminated: ScanResult["unterminated"];
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (SPACES.includes(ch)) {
      i++;
    } else if (ch === "(") {
      const c = comment(input, i + 1);
      if (!c.closed) unterminated ??= "(";
      tokens.push({ kind: "comment", text: c.text });
      i = c.end;
    } else if (ch === '"' || ch === "[") {
      const close = ch === '"' ? '"' : "]";
      const c = collect(input, i + 1, close);
      if (c.end >= input.length) unterminated ??= ch;
      tokens.push({ kind: ch === '"' ? "qstring" : "domlit", text: c.text });
      i = c.end + 1;
    } else if (ch !== "\\" && OPERATORS.includes(ch)) {
      tokens.push({ kind: "op", text: ch });
      i++;
    } else {
      let text = "";
      for (; i < input.length; i++) {
        let c = input[i];
        if (c === "\\") {
          if (i + 1 >= input.length) {
            i++;
            break;
          }
          c = input[++i];
        } else if (SPACES.includes(c) || OPERATORS.includes(c)) {
          break;
        }
        text += SPACES.includes(c) ? " " : c;
      }
      tokens.push({ kind: atomNeedsQuotes(text) ? "qstring" : "atom", text });
    }
  }
  return { tokens, unterminated };
}

const isWord = (t: Token) => t.kind !== "op";

/** tok822_append_space(): a space after a comma, before "<", and between two words. */
function spaceAfter(tokens: Token[], i: number): boolean {
  const next = tokens[i + 1];
  if (!next) return false;
  const tok = tokens[i];
  if (tok.kind === "op" && tok.text === ",") return true;
  if (next.kind === "op" && next.text === "<") return true;
  return isWord(tok) && isWord(next);
}

/** Internal (unquoted) form, as tok822_internalize(). */
export function internalize(tokens: Token[]): string {
  return tokens.map((t, i) => {
    const text = t.kind === "domlit" ? `[${t.text}]` : t.text;
    return text + (spaceAfter(tokens, i) ? " " : "");
  }).join("");
}

const quote = (text: string, special: string) =>
  [...text].map((ch) => (special.includes(ch) ? "\\" + ch : ch)).join("");

/** External (quoted) form, as tok822_externalize(). */
export function externalize(tokens: Token[]): string {
  return tokens.map((t, i) => {
    let text = t.text;
    if (t.kind === "qstring") text = `"${quote(t.text, '"\\\r\n')}"`;
    else if (t.kind === "domlit") text = `[${quote(t.text, "\\\r\n")}]`;
    return text + (spaceAfter(tokens, i) ? " " : "");
  }).join("");
}

/**
 * Split a token list into addresses the way tok822_parse() groups them:
 * commas separate addresses, comments are set aside, for `phrase <addr>` only
 * what is inside the angle brackets is the address, and otherwise a comma is
 * implied between two adjacent words ("a b" is two addresses).
 */
export function splitAddresses(tokens: Token[]): Token[][] {
  const segments: Token[][] = [[]];
  for (const tok of tokens) {
    if (tok.kind === "comment") continue;
    if (tok.kind === "op" && tok.text === ",") segments.push([]);
    else segments[segments.length - 1].push(tok);
  }
  return segments.flatMap(splitSegment).filter((address) => address.length > 0);
}

function splitSegment(segment: Token[]): Token[][] {
  const open = segment.findLastIndex((t) => t.kind === "op" && t.text === "<");
  if (open >= 0) {
    const close = segment.findIndex((t, i) => i > open && t.kind === "op" && t.text === ">");
    return [segment.slice(open + 1, close < 0 ? segment.length : close)];
  }
  const addresses: Token[][] = [[]];
  segment.forEach((tok, i) => {
    if (i > 0 && isWord(segment[i - 1]) && isWord(tok)) addresses.push([]);
    addresses[addresses.length - 1].push(tok);
  });
  return addresses;
}
