/**
 * RFC 5322 3.4 address lists as IMAP ENVELOPE address structures
 * (RFC 3501 7.4.2): mailboxes, name-addr with obsolete routes (RFC 5322
 * 4.4), groups, comments, quoted local parts. Read the way Dovecot's
 * message-address parser reads them: a phrase is its words joined by one
 * space, a comment stands in for a missing display name, a missing local
 * part or domain is filled with MISSING_MAILBOX / MISSING_DOMAIN. Encoded
 * words stay as they are (IMAP sends them raw). Input and output are binary
 * strings. (src/cleanup/header_addresses.ts and src/maps/rfc822_tokens.ts
 * follow Postfix's tok822 rules, which split "john smith" into two
 * addresses and have no groups as IMAP needs them, so they are not used.)
 */

export interface ImapAddress {
  /** Display name (or the comment of a bare addr-spec); null when none. */
  name: string | null;
  /** Obsolete source route ("@a,@b"); null when none. */
  adl: string | null;
  /** Local part; for a group start the group name; null for a group end. */
  mailbox: string | null;
  /** Domain; null for group start and end markers. */
  host: string | null;
}

export const MISSING_MAILBOX = "MISSING_MAILBOX";
export const MISSING_DOMAIN = "MISSING_DOMAIN";

type Kind = "word" | "quoted" | "domlit" | "special";

interface Token {
  kind: Kind;
  /** word: atext and dots; quoted: unescaped content; domlit: with brackets; special: the char. */
  text: string;
  /** A comment that follows this token. */
  comment?: string;
}

// RFC 5322 3.2.3 specials, without "." which joins into words (obs-phrase, dot-atom).
const SPECIALS = '()<>[]:;@\\,"';

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++;
    } else if (c === "(") {
      const [body, end] = readComment(text, i);
      // A comment after an addr-spec names it: attach to the previous token too.
      const last = tokens[tokens.length - 1];
      if (last) last.comment = body;
      i = end;
    } else if (c === '"') {
      let out = "";
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === "\\" && j + 1 < text.length) j++;
        if (text[j] !== "\r" && text[j] !== "\n") out += text[j];
      }
      tokens.push({ kind: "quoted", text: out });
      i = j + 1;
    } else if (c === "[") {
      const close = text.indexOf("]", i);
      const end = close < 0 ? text.length : close + 1;
      tokens.push({ kind: "domlit", text: text.slice(i, end).replace(/[\r\n]/g, "") });
      i = end;
    } else if (SPECIALS.includes(c)) {
      tokens.push({ kind: "special", text: c });
      i++;
    } else {
      let j = i;
      while (j < text.length && !SPECIALS.includes(text[j]) && !" \t\r\n".includes(text[j])) j++;
      tokens.push({ kind: "word", text: text.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

function readComment(text: string, start: number): [string, number] {
  let depth = 0;
  let out = "";
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && i + 1 < text.length) {
      out += text[++i];
      continue;
    }
    if (c === "(") {
      if (depth++ === 0) continue;
    } else if (c === ")") {
      if (--depth === 0) return [out, i + 1];
    }
    if (c !== "\r" && c !== "\n") out += c;
  }
  return [out, text.length];
}

const isSpecial = (t: Token | undefined, c: string) => t?.kind === "special" && t.text === c;

/** An address-list (or mailbox-list) header value. */
export function parseAddressList(text: string): ImapAddress[] {
  const tokens = tokenize(text);
  const out: ImapAddress[] = [];
  let i = 0;
  while (i < tokens.length) {
    if (isSpecial(tokens[i], ",") || isSpecial(tokens[i], ";")) {
      i++;
      continue;
    }
    // A group is "phrase :" before any "<" or "@" (RFC 5322 3.4).
    const colon = groupColon(tokens, i);
    if (colon >= 0) {
      out.push({
        name: null,
        adl: null,
        mailbox: phrase(tokens.slice(i, colon)) ?? "",
        host: null,
      });
      i = colon + 1;
      while (i < tokens.length && !isSpecial(tokens[i], ";")) {
        if (isSpecial(tokens[i], ",")) {
          i++;
          continue;
        }
        const end = mailboxEnd(tokens, i, true);
        const mailbox = parseMailbox(tokens.slice(i, end));
        if (mailbox) out.push(mailbox);
        i = end;
      }
      out.push({ name: null, adl: null, mailbox: null, host: null });
      i++;
      continue;
    }
    const end = mailboxEnd(tokens, i, false);
    const mailbox = parseMailbox(tokens.slice(i, end));
    if (mailbox) out.push(mailbox);
    i = end;
  }
  return out;
}

function groupColon(tokens: Token[], from: number): number {
  for (let i = from; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind !== "special") continue;
    if (t.text === ":") return i > from ? i : -1;
    return -1;
  }
  return -1;
}

/** End of one mailbox: the next top-level "," (or ";" inside a group); "<...>" may hold ",". */
function mailboxEnd(tokens: Token[], from: number, inGroup: boolean): number {
  let angle = false;
  for (let i = from; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind !== "special") continue;
    if (t.text === "<") angle = true;
    else if (t.text === ">") angle = false;
    else if (!angle && (t.text === "," || (inGroup && t.text === ";"))) return i;
  }
  return tokens.length;
}

/** Words of a phrase joined by single spaces; null when empty. */
function phrase(tokens: Token[]): string | null {
  const words = tokens.filter((t) => t.kind !== "special").map((t) => t.text);
  return words.length === 0 ? null : words.join(" ");
}

function parseMailbox(tokens: Token[]): ImapAddress | undefined {
  if (tokens.length === 0) return undefined;
  const open = tokens.findIndex((t) => isSpecial(t, "<"));
  if (open >= 0) {
    let close = tokens.findIndex((t, k) => k > open && isSpecial(t, ">"));
    if (close < 0) close = tokens.length;
    const inner = tokens.slice(open + 1, close);
    const { adl, rest } = splitRoute(inner);
    return { name: phrase(tokens.slice(0, open)), adl, ...addrSpec(rest) };
  }
  const addr = addrSpec(tokens);
  // A comment after a bare addr-spec serves as its display name.
  const comment = tokens[tokens.length - 1].comment;
  return { name: comment ?? null, adl: null, ...addr };
}

/** RFC 5322 4.4 obs-route: "@a,@b:" before the addr-spec. */
function splitRoute(tokens: Token[]): { adl: string | null; rest: Token[] } {
  if (!isSpecial(tokens[0], "@")) return { adl: null, rest: tokens };
  const colon = tokens.findIndex((t) => isSpecial(t, ":"));
  if (colon < 0) return { adl: null, rest: tokens };
  const adl = tokens.slice(0, colon).map((t) => t.text).join("");
  return { adl, rest: tokens.slice(colon + 1) };
}

function addrSpec(tokens: Token[]): { mailbox: string; host: string } {
  const at = tokens.findIndex((t) => isSpecial(t, "@"));
  const local = (at < 0 ? tokens : tokens.slice(0, at)).filter((t) => t.kind !== "special")
    .map((t) => t.text).join("");
  const domain = at < 0 ? "" : tokens.slice(at + 1).filter((t) => !isSpecial(t, "@"))
    .filter((t) => t.kind !== "special" || t.text === ".").map((t) => t.text).join("");
  return { mailbox: local || MISSING_MAILBOX, host: domain || MISSING_DOMAIN };
}
