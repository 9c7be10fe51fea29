/**
 * Address-keyed table searches in Postfix's orders, over the key lists of
 * maps/search.ts:
 * - mailAddrFind: mail_addr_find(3), used for virtual_alias_maps (virtual(5)
 *   "TABLE SEARCH ORDER"), local_recipient_maps and relay_recipient_maps;
 * - virtualMailboxFind: virtual(8) "TABLE SEARCH ORDER" for virtual_mailbox_maps.
 */
import { addressKeys } from "../maps/search.ts";
import { splitAddress } from "./address.ts";
import type { TableList } from "./table_list.ts";

export interface SearchSettings {
  /** recipient_delimiter: the set of delimiter characters ("" = no extensions). */
  delimiters: string;
  ownerRequestSpecial: boolean;
  myorigin: string;
  /** resolve_local(): mydestination, inet_interfaces. */
  isLocalDomain(domain: string): Promise<boolean>;
}

export interface Found {
  value: string;
  /** The key that matched. */
  key: string;
  /** The extension ("+foo") that had to be stripped for the match, if any. */
  extension?: string;
}

/**
 * mail_addr_find(3): user+ext@domain, user@domain, then — only when domain is
 * $myorigin or local — user+ext and user, then @domain.
 */
export async function mailAddrFind(
  tables: TableList,
  address: string,
  s: SearchSettings,
): Promise<Found | undefined> {
  const { domain } = splitAddress(address);
  const local = domain !== undefined &&
    (domain.toLowerCase() === s.myorigin.toLowerCase() || await s.isLocalDomain(domain));
  return await find(tables, address, s, local);
}

/** virtual(8): user+ext@domain, user@domain, then @domain (never the bare localpart). */
export async function virtualMailboxFind(
  tables: TableList,
  address: string,
  s: Pick<SearchSettings, "delimiters" | "ownerRequestSpecial">,
): Promise<Found | undefined> {
  return await find(tables, address, s, false);
}

async function find(
  tables: TableList,
  address: string,
  s: Pick<SearchSettings, "delimiters" | "ownerRequestSpecial">,
  stripDomainForLocal: boolean,
): Promise<Found | undefined> {
  const keys = addressKeys(address, {
    recipientDelimiter: s.delimiters,
    ownerRequestSpecial: s.ownerRequestSpecial,
    stripDomainForLocal,
  });
  const hit = await tables.search(keys);
  if (!hit) return undefined;
  const found: Found = { value: hit.value, key: hit.key.key };
  if (hit.key.extension) found.extension = hit.key.extension;
  return found;
}
