/**
 * The order in which Postfix tries keys when it looks up an address, a domain
 * or a client in a list of tables. Each function follows one manual page; the
 * orders differ between them, so there is one function each.
 *
 * Every key says whether it is "partial": Postfix only asks pattern tables
 * (regexp:, pcre:, cidr:) for the full lookup string, never for derived keys
 * such as "user@domain" without the extension, parent domains or "@domain"
 * (mail_addr_find.c, smtpd_check.c: PARTIAL = DICT_FLAG_FIXED).
 */

import { parseIp } from "./ip.ts";
import type { LookupTable } from "./types.ts";

export interface SearchKey {
  key: string;
  /** Derived key: skipped for pattern tables. */
  partial: boolean;
  /** The address extension (with its delimiter, e.g. "+foo") that was removed to build this key. */
  extension?: string;
}

export interface ExtensionOptions {
  /** postconf(5) recipient_delimiter: the set of characters that start an extension ("" = none). */
  recipientDelimiter: string;
  /** postconf(5) owner_request_special (default yes): with "-" as delimiter, do not split owner-x or x-request. */
  ownerRequestSpecial?: boolean;
  /** postconf(5) double_bounce_sender (default "double-bounce"): never split. */
  doubleBounceSender?: string;
}

/**
 * Split "user+foo" into "user" and "+foo" at the first delimiter character
 * (split_addr.c). Not split: postmaster, mailer-daemon, the double-bounce
 * sender, owner-x and x-request when "-" is a delimiter and
 * owner_request_special is on, and anything that would leave an empty user.
 */
export function splitExtension(
  localpart: string,
  opts: ExtensionOptions,
): { user: string; extension?: string } {
  const lower = localpart.toLowerCase();
  const delimiters = opts.recipientDelimiter;
  const reserved = [
    "postmaster",
    "mailer-daemon",
    (opts.doubleBounceSender ?? "double-bounce").toLowerCase(),
  ];
  if (delimiters === "" || reserved.includes(lower)) return { user: localpart };
  if (delimiters.includes("-") && (opts.ownerRequestSpecial ?? true)) {
    if (lower.startsWith("owner-") || (lower.length > 8 && lower.endsWith("-request"))) {
      return { user: localpart };
    }
  }
  const at = [...localpart].findIndex((ch) => delimiters.includes(ch));
  if (at <= 0) return { user: localpart };
  const chars = [...localpart];
  return { user: chars.slice(0, at).join(""), extension: chars.slice(at).join("") };
}

/** "local@domain" → ["local", "domain"]; the last "@" separates them. */
function splitAddress(address: string): { local: string; domain?: string } {
  const at = address.lastIndexOf("@");
  return at < 0
    ? { local: address }
    : { local: address.slice(0, at), domain: address.slice(at + 1) };
}

const full = (key: string): SearchKey => ({ key, partial: false });
const partial = (key: string, extension?: string): SearchKey =>
  extension === undefined ? { key, partial: true } : { key, partial: true, extension };

/**
 * virtual(5) and canonical(5) "TABLE SEARCH ORDER" / "ADDRESS EXTENSION"
 * (mail_addr_find.c): user+ext@domain, user@domain, then — only when the
 * domain is local ($myorigin, $mydestination, $inet_interfaces,
 * $proxy_interfaces), which the caller says with stripDomainForLocal —
 * user+ext and user, and last @domain. An address without "@" is looked up
 * as user+ext, then user.
 */
export function addressKeys(
  address: string,
  opts: ExtensionOptions & { stripDomainForLocal?: boolean },
): SearchKey[] {
  const { local, domain } = splitAddress(address);
  const { user, extension } = splitExtension(local, opts);
  const keys: SearchKey[] = [full(address)];
  if (domain === undefined) {
    if (extension) keys.push(partial(user, extension));
    return keys;
  }
  if (extension) keys.push(partial(`${user}@${domain}`, extension));
  if (opts.stripDomainForLocal) {
    keys.push(partial(local));
    if (extension) keys.push(partial(user, extension));
  }
  keys.push(partial(`@${domain}`));
  return keys;
}

/**
 * access(5) "HOST NAME/ADDRESS PATTERNS" and transport(5) "TABLE SEARCH
 * ORDER" for a domain (smtpd_check.c check_domain_access): the name itself,
 * then each parent domain — as "example.com" when the feature is listed in
 * parent_domain_matches_subdomains (access(5): smtpd_access_maps is by
 * default), else as ".example.com". A numeric address gets no parent lookups.
 */
export function domainKeys(domain: string, parentMatches: boolean): SearchKey[] {
  const keys: SearchKey[] = [];
  let name = domain;
  while (name !== "") {
    keys.push(keys.length === 0 ? full(name) : partial(name));
    if (parseIp(domain)) break;
    const dot = name.indexOf(".", 1);
    if (dot < 0) break;
    name = parentMatches ? name.slice(dot + 1) : name.slice(dot);
  }
  return keys;
}

/**
 * access(5) "HOST NAME/ADDRESS PATTERNS" for an address (check_addr_access):
 * the address, then the networks made by dropping the last ".octet" (IPv4:
 * 1.2.3.4, 1.2.3, 1.2, 1) or the last ":octetpair" of the compressed IPv6
 * form (2001:db8::1, 2001:db8:, 2001:db8, 2001).
 */
export function ipKeys(ip: string): SearchKey[] {
  const delimiter = ip.includes(":") ? ":" : ".";
  const keys = [full(ip)];
  for (let cut = ip.lastIndexOf(delimiter); cut > 0; cut = ip.lastIndexOf(delimiter, cut - 1)) {
    keys.push(partial(ip.slice(0, cut)));
  }
  return keys;
}

/**
 * access(5) client lookups (check_client_access → check_namadr_access): the
 * client hostname and its parent domains first, then the client IP address
 * and its parent networks.
 */
export function clientKeys(hostname: string, ip: string, parentMatches = true): SearchKey[] {
  return [...domainKeys(hostname, parentMatches), ...ipKeys(ip)];
}

/**
 * access(5) "EMAIL ADDRESS PATTERNS" / "EMAIL ADDRESS EXTENSION"
 * (check_mail_access): user+ext@domain, user@domain, domain and its parents
 * (see domainKeys), user+ext@, user@. All but the first key are partial.
 */
export function accessAddressKeys(
  address: string,
  opts: ExtensionOptions & { parentMatches?: boolean },
): SearchKey[] {
  const { local, domain } = splitAddress(address);
  const { user, extension } = splitExtension(local, opts);
  const keys: SearchKey[] = [full(address)];
  if (extension && domain !== undefined) keys.push(partial(`${user}@${domain}`, extension));
  if (domain === undefined) return keys;
  for (const { key } of domainKeys(domain, opts.parentMatches ?? true)) keys.push(partial(key));
  keys.push(partial(`${local}@`));
  if (extension) keys.push(partial(`${user}@`, extension));
  return keys;
}

/**
 * transport(5) "TABLE SEARCH ORDER" (trivial-rewrite transport.c):
 * user+ext@domain, user@domain, domain and its parents (".domain" form unless
 * transport_maps is in parent_domain_matches_subdomains), then the "*" wildcard.
 */
export function transportKeys(
  address: string,
  opts: ExtensionOptions & { parentMatches?: boolean },
): SearchKey[] {
  const { local, domain } = splitAddress(address);
  const { user, extension } = splitExtension(local, opts);
  const keys: SearchKey[] = [full(address)];
  if (domain === undefined) return [...keys, full("*")];
  if (extension) keys.push(partial(`${user}@${domain}`, extension));
  for (const { key } of domainKeys(domain, opts.parentMatches ?? false)) keys.push(partial(key));
  keys.push(full("*"));
  return keys;
}

/**
 * aliases(5) "ADDRESS EXTENSION" and "CASE FOLDING": local(8) looks up the
 * localpart folded to lower case, then without its extension.
 */
export function aliasKeys(localpart: string, opts: ExtensionOptions): SearchKey[] {
  const lower = localpart.toLowerCase();
  const { user, extension } = splitExtension(lower, opts);
  return extension ? [full(lower), partial(user, extension)] : [full(lower)];
}

export interface SearchResult {
  value: string;
  key: SearchKey;
  table: LookupTable;
}

/**
 * maps_find() over a key order: each key is tried in every table before the
 * next key; partial keys skip pattern tables; empty keys are never looked up.
 * Table errors propagate (a lookup that cannot be answered is not "not found").
 */
export async function searchTables(
  tables: LookupTable[],
  keys: SearchKey[],
  onLookup?: (table: LookupTable, key: string, value: string | undefined) => void,
): Promise<SearchResult | undefined> {
  for (const key of keys) {
    if (key.key === "") continue;
    for (const table of tables) {
      if (key.partial && table.pattern) continue;
      const value = await table.lookup(key.key);
      onLookup?.(table, key.key, value);
      if (value !== undefined) return { value, key, table };
    }
  }
  return undefined;
}
