/**
 * Automatic blind copies (postconf(5) always_bcc, sender_bcc_maps,
 * recipient_bcc_maps; cleanup_addr.c). The tables are searched like
 * canonical(5) tables (mail_addr_find: user+ext@domain, user@domain, user
 * when local, @domain) with the address after canonical mapping and
 * masquerading; the null sender gets no sender BCC. An unmatched extension
 * is not carried over to the BCC address. Each copy goes out as if the
 * client had asked NOTIFY=NEVER, so nobody is told when it fails.
 */
import { mailAddrFind, type SearchSettings } from "./address_find.ts";
import { parseAddressList } from "./address.ts";
import type { TableList } from "./table_list.ts";
import { traceStep } from "./trace.ts";

/** The BCC address a table gives for `address`, or undefined. */
export async function findBcc(
  tables: TableList,
  address: string,
  search: SearchSettings,
): Promise<string | undefined> {
  if (address === "" || tables.empty) return undefined;
  const found = await mailAddrFind(tables, address, search);
  if (!found) return undefined;
  // The value is one address, possibly in "phrase <addr>" or quoted form.
  const [bcc] = parseAddressList(found.value);
  if (bcc === undefined) return undefined;
  traceStep("bcc", `${tables.param}: ${address} → blind copy to ${bcc}`);
  return bcc;
}
