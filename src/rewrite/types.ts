/** The vocabulary of address resolution (trivial-rewrite(8), ADDRESS_CLASS_README). */
import type { LookupTable } from "../maps/types.ts";

export type { LookupTable };

/** How modules open a `type:name` table; injected so tests can pass inline:{...} tables. */
export type OpenTable = (spec: string, opts?: { aliases?: boolean }) => LookupTable;

/** ADDRESS_CLASS_README: every recipient domain falls in exactly one class. */
export type AddressClass = "local" | "virtual_alias" | "virtual_mailbox" | "relay" | "default";

/** trivial-rewrite(8) resolve: where a recipient goes. */
export interface Resolution {
  class: AddressClass;
  /** master.cf service name: "local", "virtual", "relay", "smtp", "error", ... */
  transport: string;
  /** transport(5) nexthop: a domain, "[host]:port", or for "error" the DSN text. */
  nexthop: string;
  /** The canonical recipient address. */
  recipient: string;
}
