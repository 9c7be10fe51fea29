/**
 * Address masquerading (postconf(5) masquerade_domains, cleanup_masquerade.c):
 * "user@host.sub.example.com" becomes "user@example.com" when example.com is
 * listed. The list is read left to right and the first entry equal to the
 * domain or to one of its parents decides: a plain entry strips the
 * subdomains, a "!entry" keeps them ("!sub.example.com, example.com" leaves
 * sub.example.com alone). A domain equal to an entry is never changed.
 * Users in masquerade_exceptions are never masqueraded, whatever the domain.
 */
import { splitAddress } from "./address.ts";

export interface MasqueradeEntry {
  /** Lower-case domain without the "!" prefixes. */
  domain: string;
  /** false for "!domain" (an odd number of "!"). */
  strip: boolean;
}

/** masquerade_domains → entries; empty entries are skipped as Postfix does. */
export function parseMasqueradeDomains(list: readonly string[]): MasqueradeEntry[] {
  const out: MasqueradeEntry[] = [];
  for (const raw of list) {
    let strip = true;
    let name = raw;
    // cleanup_masquerade.c: each leading "!" flips the sense.
    while (name.startsWith("!")) {
      strip = !strip;
      name = name.slice(1);
    }
    if (name !== "") out.push({ domain: name.toLowerCase(), strip });
  }
  return out;
}

/** The masqueraded domain for `domain`, or undefined when it stays as it is. */
export function masqueradeDomain(
  domain: string,
  entries: readonly MasqueradeEntry[],
): string | undefined {
  const name = domain.toLowerCase();
  for (const entry of entries) {
    if (name === entry.domain) return undefined;
    if (name.endsWith("." + entry.domain)) return entry.strip ? entry.domain : undefined;
  }
  return undefined;
}

/**
 * The address with its domain masqueraded, or unchanged. `isException` says
 * whether a (lower-case) localpart is listed in masquerade_exceptions.
 */
export async function masqueradeAddress(
  address: string,
  entries: readonly MasqueradeEntry[],
  isException: (user: string) => Promise<boolean>,
): Promise<string> {
  const { local, domain } = splitAddress(address);
  if (domain === undefined || entries.length === 0) return address;
  const target = masqueradeDomain(domain, entries);
  if (target === undefined) return address;
  if (await isException(local.toLowerCase())) return address;
  return `${local}@${target}`;
}
