/**
 * One-to-many virtual alias expansion, as cleanup(8) does it
 * (cleanup_map1n): each result is looked up again, recursively. An address
 * that expands into itself is kept and not expanded again (virtual(5):
 * "user@example.com user@example.com, other" delivers to both). Pure: the
 * table lookup is passed in.
 */
import { parseAddressList, splitAddress, withExtension } from "./address.ts";

export interface ExpansionLimits {
  /** virtual_alias_recursion_limit: maximal nesting depth. */
  recursion: number;
  /** virtual_alias_expansion_limit: maximal number of addresses from one recipient. */
  expansion: number;
}

/** address → its expansion (canonical addresses), or undefined when no table entry matches. */
export type AliasLookup = (address: string) => Promise<string[] | undefined>;

/** Why an expansion was given up; the caller turns it into a 4.6.0 deferral. */
export class AliasExpansionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AliasExpansionError";
  }
}

/** One address of an expansion and what it expanded to (for the route explainer). */
export interface AliasNode {
  address: string;
  /** The table's answer; absent when the address had no entry (a final address). */
  children?: AliasNode[];
}

/**
 * cleanup_map1n(): expands `start` recursively, depth first, keeping the
 * table's order. `tree` (its address = start), when given, receives the
 * expansion as a tree, even when a limit stops it part way.
 */
export async function expandAddress(
  start: string,
  lookup: AliasLookup,
  limits: ExpansionLimits,
  tree: AliasNode = { address: start },
): Promise<string[]> {
  const out: string[] = [];
  /** Addresses that expanded into themselves: final from then on. */
  const selfMapped = new Set<string>();
  const emit = (address: string) => {
    out.push(address);
    if (out.length > limits.expansion) {
      throw new AliasExpansionError(
        `${start} expands to more than virtual_alias_expansion_limit (${limits.expansion}) addresses`,
      );
    }
  };

  const walk = async (node: AliasNode, depth: number, chain: readonly string[]) => {
    const address = node.address;
    const key = address.toLowerCase();
    if (selfMapped.has(key)) return emit(address);
    const results = await lookup(address);
    if (results === undefined) return emit(address);
    node.children = results.map((r) => ({ address: r }));
    if (depth >= limits.recursion) {
      throw new AliasExpansionError(
        `${start}: nesting deeper than virtual_alias_recursion_limit (${limits.recursion})`,
      );
    }
    // Mark before descending, so "a → b, a" with "b → a" stops at a (cleanup_map1n).
    if (results.some((r) => r.toLowerCase() === key)) selfMapped.add(key);
    const below = [...chain, key];
    for (const child of node.children) {
      const result = child.address;
      const resultKey = result.toLowerCase();
      if (resultKey === key) {
        emit(result);
      } else if (below.includes(resultKey) && !selfMapped.has(resultKey)) {
        throw new AliasExpansionError(`virtual alias loop: ${[...below, resultKey].join(" -> ")}`);
      } else {
        await walk(child, depth + 1, below);
      }
    }
  };

  await walk(tree, 0, []);
  return out;
}

/**
 * A table value → result addresses, as mail_addr_map(3): "@otherdomain"
 * keeps the original localpart (its extension too unless it was stripped to
 * match); an extension stripped to match is appended to every result
 * (propagate_unmatched_extensions, default "canonical, virtual").
 */
export function mapResult(
  value: string,
  address: string,
  extension: string | undefined,
  canonicalize: (address: string) => string,
): string[] {
  let addresses: string[];
  const trimmed = value.trim();
  if (trimmed.startsWith("@") && !/[\s,]/.test(trimmed)) {
    const local = splitAddress(address).local;
    const user = extension ? local.slice(0, local.length - extension.length) : local;
    addresses = [canonicalize(user + trimmed)];
  } else {
    addresses = parseAddressList(value).map(canonicalize);
  }
  return extension ? addresses.map((a) => withExtension(a, extension)) : addresses;
}
