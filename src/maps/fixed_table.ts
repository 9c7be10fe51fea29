import type { LookupTable } from "./types.ts";

/**
 * A table over fixed keys folded to lower case: the hash, texthash, inline and
 * aliases kinds (postmap(1): "By default the lookup key is mapped to lowercase").
 */
export function fixedTable(spec: string, entries: () => Promise<Map<string, string>>): LookupTable {
  return {
    spec,
    pattern: false,
    async lookup(key: string) {
      return (await entries()).get(key.toLowerCase());
    },
  };
}
