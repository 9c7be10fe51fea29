/** Fixtures shared by the rewrite, transport and qmgr tests. */
import { Config } from "../../src/config/mod.ts";
import { openInline } from "../../src/maps/inline.ts";
import type { LookupTable, OpenTable } from "../../src/rewrite/mod.ts";

/**
 * inline:{...} tables as the maps module opens them, plus two test kinds:
 * "fail:reason" (every lookup rejects) and "count:inline:{...}" (counts lookups
 * in `lookups`). `opened` records each spec and whether it was opened as aliases.
 */
export function testTables() {
  const opened: { spec: string; aliases: boolean }[] = [];
  const lookups: string[] = [];
  const open: OpenTable = (spec, opts) => {
    opened.push({ spec, aliases: opts?.aliases ?? false });
    if (spec.startsWith("inline:")) return openInline(spec, spec.slice("inline:".length));
    if (spec.startsWith("fail:")) {
      const why = spec.slice("fail:".length);
      return { spec, lookup: () => Promise.reject(new Error(why)) } satisfies LookupTable;
    }
    if (spec.startsWith("count:")) {
      const inner = open(spec.slice("count:".length), opts);
      return {
        spec,
        lookup: (key: string) => {
          lookups.push(key);
          return inner.lookup(key);
        },
      };
    }
    throw new Error(`test openTable: unsupported table ${spec}`);
  };
  return { open, opened, lookups };
}

/** A Config with facteur's defaults, a fixed host name, and the given overrides. */
export function testConfig(values: Record<string, string> = {}): Config {
  return new Config({
    myhostname: "mail.example.com",
    mydestination: "$myhostname, localhost.$mydomain, localhost",
    inet_interfaces: "loopback-only",
    alias_maps: "",
    local_recipient_maps: "",
    ...values,
  });
}
