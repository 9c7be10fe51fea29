/**
 * MAIL FROM / RCPT TO paths (RFC 5321 4.1.2), to Postfix's internal address
 * form: the local part unquoted ("john doe"@example.com → john doe@example.com),
 * source routes dropped (RFC 5321 4.1.1.3, Appendix C).
 */
import { isIPv4, isIPv6 } from "node:net";

export type PathKind = "sender" | "recipient";

export interface PathOptions {
  kind: PathKind;
  /** postconf(5) strict_rfc821_envelopes: <> required, no lenient dots. */
  strict: boolean;
}

export type PathResult =
  | { ok: true; address: string; ascii: boolean }
  | { ok: false; problem: "syntax" | "length"; detail: string };

/** The path token and the parameter text after it, from "FROM:" / "TO:" argument text. */
export function splitPath(
  text: string,
  strict: boolean,
): { path: string; params: string } | undefined {
  const rest = text.replace(/^[ \t]+/, "");
  let end: number;
  if (rest.startsWith("<")) {
    end = closingBracket(rest);
    if (end < 0) return undefined;
    end += 1;
  } else {
    if (strict) return undefined;
    end = rest.search(/[ \t]/);
    if (end < 0) end = rest.length;
  }
  const path = rest.slice(0, end);
  const params = rest.slice(end);
  if (params !== "" && !/^[ \t]/.test(params)) return undefined;
  if (path === "") return undefined;
  return { path, params: params.trim() };
}

/** Index of the ">" closing the path, skipping quoted strings; -1 if none. */
function closingBracket(s: string): number {
  let quoted = false;
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === ">") {
      return i;
    }
  }
  return -1;
}

const bad = (detail: string): PathResult => ({ ok: false, problem: "syntax", detail });
const tooLong = (detail: string): PathResult => ({ ok: false, problem: "length", detail });
const octets = (s: string) => new TextEncoder().encode(s).length;

// RFC 5321 4.1.2 atext (RFC 5322 3.2.3), plus UTF8-non-ascii (RFC 6531 3.3).
const ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+$/u;
const LABEL =
  /^[A-Za-z0-9\u0080-\u{10FFFF}](?:[A-Za-z0-9\u0080-\u{10FFFF}-]*[A-Za-z0-9\u0080-\u{10FFFF}])?$/u;

/** Parses a path as split off by splitPath: "<user@example.com>", "<>", "user@example.com". */
export function parsePath(path: string, options: PathOptions): PathResult {
  const bracketed = path.startsWith("<") && path.endsWith(">") && path.length >= 2;
  if (!bracketed && (options.strict || path.startsWith("<") || path.endsWith(">"))) {
    return bad("address not enclosed in <>");
  }
  // RFC 5321 4.5.3.1.3: a path is at most 256 octets, "<" and ">" included.
  if (octets(path) + (bracketed ? 0 : 2) > 256) return tooLong("path longer than 256 octets");
  let inner = bracketed ? path.slice(1, -1) : path;
  if (inner === "") {
    return options.kind === "sender"
      ? { ok: true, address: "", ascii: true }
      : bad("null recipient");
  }
  if (inner.startsWith("@")) {
    const colon = inner.indexOf(":");
    if (colon < 0) return bad("source route without ':'");
    const route = inner.slice(0, colon).split(",");
    if (!route.every((hop) => hop.startsWith("@") && isDomain(hop.slice(1)))) {
      return bad("bad source route");
    }
    inner = inner.slice(colon + 1);
  }
  const local = readLocalPart(inner, options.strict);
  if (!local) return bad("bad local part");
  const after = inner.slice(local.length);
  if (after === "") {
    // RFC 5321 4.1.1.3: "postmaster" without a domain is a valid recipient.
    if (options.kind === "recipient" && local.value.toLowerCase() === "postmaster") {
      return { ok: true, address: local.value, ascii: true };
    }
    return bad("address without domain");
  }
  if (!after.startsWith("@")) return bad("bad local part");
  const domain = after.slice(1);
  // RFC 5321 4.5.3.1.1 and 4.5.3.1.2, on the local part as written.
  if (octets(inner.slice(0, local.length)) > 64) return tooLong("local part longer than 64 octets");
  if (octets(domain) > 255) return tooLong("domain longer than 255 octets");
  if (!isDomain(domain) && !isAddressLiteral(domain)) return bad("bad domain");
  const address = `${local.value}@${domain}`;
  return { ok: true, address, ascii: /^[\x00-\x7f]*$/.test(address) };
}

/** The local part at the start of `s`: its length as written and its unquoted value. */
function readLocalPart(s: string, strict: boolean): { length: number; value: string } | undefined {
  if (s.startsWith('"')) return readQuotedString(s);
  const at = s.indexOf("@");
  const text = at < 0 ? s : s.slice(0, at);
  if (text === "") return undefined;
  const atoms = text.split(".");
  // Postfix accepts "first..last@" and similar from real-world senders unless strict.
  const ok = strict ? atoms.every((a) => ATOM.test(a)) : atoms.some((a) => a !== "") &&
    atoms.every((a) => a === "" || ATOM.test(a));
  return ok ? { length: text.length, value: text } : undefined;
}

/** RFC 5321 Quoted-string: qtextSMTP and quoted-pairSMTP (plus UTF-8 per RFC 6531). */
function readQuotedString(s: string): { length: number; value: string } | undefined {
  let value = "";
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) { // backslash: quoted-pairSMTP = "\" %d32-126
      const next = s.charCodeAt(i + 1);
      if (!(next >= 32 && next <= 126) && !(next >= 0x80)) return undefined;
      value += s[i + 1];
      i++;
    } else if (c === 0x22) {
      return { length: i + 1, value };
    } else if ((c >= 32 && c <= 126) || c >= 0x80) {
      value += s[i];
    } else {
      return undefined;
    }
  }
  return undefined; // no closing quote
}

/** RFC 5321 Domain: sub-domain *("." sub-domain); U-labels allowed (RFC 6531). */
export function isDomain(domain: string): boolean {
  if (domain === "" || octets(domain) > 255) return false;
  return domain.split(".").every((label) => LABEL.test(label) && octets(label) <= 63);
}

/** RFC 5321 4.1.3 address-literal: [IPv4], [IPv6:...], or [tag:content]. */
export function isAddressLiteral(text: string): boolean {
  const m = /^\[(.*)\]$/s.exec(text);
  if (!m) return false;
  const inside = m[1];
  if (isIPv4(inside)) return true;
  if (/^IPv6:/i.test(inside)) return isIPv6(inside.slice(5));
  // General-address-literal = Standardized-tag ":" 1*dcontent
  return /^[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+$/.test(inside);
}
