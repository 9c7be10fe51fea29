/**
 * canonical(5) one-to-one mapping as cleanup(8) applies it (cleanup_map11):
 * the address is looked up in canonical(5) "TABLE SEARCH ORDER"
 * (user+ext@domain, user@domain, user+ext and user only when the domain is
 * local, @domain); a result "@otherdomain" keeps the localpart; the result is
 * completed in the local rewrite context ("RESULT ADDRESS REWRITING") and
 * looked up again, until an address maps onto itself or 10 rounds pass.
 * A multi-valued result uses its first address, as Postfix does (it warns).
 */
import { mailAddrFind, type SearchSettings } from "./address_find.ts";
import { sameAddress } from "./address.ts";
import type { TableList } from "./table_list.ts";
import { traceStep, tracing } from "./trace.ts";
import { mapResult } from "./virtual_alias.ts";

/** cleanup_map11.c MAX_RECURSION. */
export const CANONICAL_RECURSION_LIMIT = 10;

export interface CanonicalOptions {
  search: SearchSettings;
  /** propagate_unmatched_extensions lists "canonical". */
  propagateExtension: boolean;
  /** The local rewrite context (append_at_myorigin, ...) applied to results. */
  complete: (address: string) => string;
  /** Warnings (multi-valued entry, unreasonable nesting). */
  warn?: (text: string) => void;
  /** The role shown in traces: "sender", "recipient", "header sender", ... */
  role?: string;
}

/** One lookup round: the new address, or undefined when nothing matches. */
export async function canonicalLookup(
  tables: TableList,
  address: string,
  opts: CanonicalOptions,
): Promise<string | undefined> {
  if (address === "" || tables.empty) return undefined;
  const found = await mailAddrFind(tables, address, opts.search);
  if (!found) return undefined;
  const extension = opts.propagateExtension ? found.extension : undefined;
  const results = mapResult(found.value, address, extension, opts.complete);
  if (results.length > 1) {
    opts.warn?.(`warning: multi-valued ${tables.param} entry for ${address}`);
  }
  // An empty or non-address result leaves the address as it is.
  return results[0];
}

/**
 * cleanup_map11_external(): map until the result is the address itself. Lookup
 * failures reject (the caller defers the message).
 */
export async function mapCanonical(
  tables: TableList,
  address: string,
  opts: CanonicalOptions,
): Promise<string> {
  let current = address;
  for (let round = 0; round < CANONICAL_RECURSION_LIMIT; round++) {
    const next = await canonicalLookup(tables, current, opts);
    if (next === undefined) return current;
    const same = sameAddress(next, current);
    if (!same && tracing()) {
      traceStep("canonical", `${opts.role ?? "address"} ${current} → ${next} (${tables.param})`);
    }
    current = next;
    if (same) return current;
  }
  opts.warn?.(`warning: unreasonable ${tables.param} map nesting for ${address}`);
  return current;
}
