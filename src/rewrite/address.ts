/**
 * Address syntax helpers: pure functions over addresses in internal
 * (unquoted) form, "localpart@domain". The rightmost "@" separates the
 * domain, as in Postfix (a quoted localpart may itself contain "@").
 */
import { internalize, scanTokens, splitAddresses } from "../maps/rfc822_tokens.ts";

export interface AddressParts {
  local: string;
  /** undefined when the address has no "@" at all (an unqualified "user"). */
  domain: string | undefined;
}

export function splitAddress(address: string): AddressParts {
  const at = address.lastIndexOf("@");
  if (at < 0) return { local: address, domain: undefined };
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** Domains compare case-insensitively and a trailing dot means nothing (RFC 1035 3.1). */
export function normalizeDomain(domain: string): string {
  const lower = domain.toLowerCase();
  return lower.endsWith(".") && lower.length > 1 ? lower.slice(0, -1) : lower;
}

/**
 * Drops an RFC 821 source route ("@a,@b:user@c" → "user@c"): RFC 5321 4.1.1.3
 * and Appendix C say a receiver may ignore the route and must accept the syntax.
 */
export function stripSourceRoute(address: string): string {
  if (!address.startsWith("@")) return address;
  const colon = address.indexOf(":");
  return colon < 0 ? address : address.slice(colon + 1);
}

/** Addresses are compared case-insensitively throughout Postfix (strcasecmp). */
export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Inserts an extension ("+ext", delimiter included) before the "@" of an address. */
export function withExtension(address: string, extension: string): string {
  const { local, domain } = splitAddress(address);
  return domain === undefined ? local + extension : `${local}${extension}@${domain}`;
}

/**
 * Splits a table result such as "a@example.com, b, \"x y\"@example.net" into
 * addresses in internal form (mail_addr_crunch: RFC 822 address list, quotes
 * honoured, comments dropped, "phrase <addr>" reduced to addr).
 */
export function parseAddressList(value: string): string[] {
  return splitAddresses(scanTokens(value).tokens)
    .map((tokens) => internalize(tokens))
    .filter((a) => a !== "");
}

/**
 * "[192.0.2.1]" / "[IPv6:2001:db8::1]" → the address in a canonical text form,
 * or undefined when `domain` is not a valid address literal (RFC 5321 4.1.3).
 */
export function addressLiteral(domain: string): string | undefined {
  if (!domain.startsWith("[") || !domain.endsWith("]")) return undefined;
  const inner = domain.slice(1, -1);
  return canonicalIp(/^ipv6:/i.test(inner) ? inner.slice(5) : inner);
}

/** A canonical text form of an IPv4 or IPv6 address, or undefined if it is neither. */
export function canonicalIp(text: string): string | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    return text.split(".").every((n) => Number(n) <= 255)
      ? text.split(".").map(Number).join(".")
      : undefined;
  }
  if (!text.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  try {
    // The URL parser is the standard IPv6 text canonicalizer (RFC 5952 form).
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}
