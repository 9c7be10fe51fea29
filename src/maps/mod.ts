/**
 * Opening lookup tables from `type:name` specs (DATABASE_README, postconf(5)).
 *
 *   hash:/path, btree:, lmdb:, cdb:, dbm:, sdbm:, texthash:  the postmap(1)
 *       source file itself (no .db is built or read), re-read when it
 *       changes (texthash too: Postfix reads it once, the issue asks for reloads)
 *   inline:{k=v, { k = v }}, static:value, static:{ v }
 *   regexp:/path, pcre:/path, cidr:/path (also inline: regexp:{ {rule}, ... })
 *   unionmap:{type:name, ...}, pipemap:{type:name, ...}  (composite.ts)
 *   sqlite:/path/file.cf  (sqlite.ts)
 *   unix:passwd.byname, unix:group.byname
 *   proxy:TYPE:name  is TYPE:name (facteur has no proxymap server)
 *
 * Postfix's other kinds (ldap:, mysql:, pgsql:, memcache:, socketmap:, tcp:,
 * nis:, ...) are refused with a "not supported yet" ConfigError naming the kind.
 */

import { isAbsolute, resolve } from "node:path";
import { parseAliasesSource } from "./aliases.ts";
import { splitOutsideBraces } from "./braces.ts";
import { openCidr } from "./cidr.ts";
import { openComposite } from "./composite.ts";
import { fixedTable } from "./fixed_table.ts";
import { openInline, openStatic } from "./inline.ts";
import { parsePostmapSource } from "./postmap_source.ts";
import { openRegexpTable } from "./regexp_table.ts";
import { openSqlite } from "./sqlite.ts";
import { tableError } from "./table_error.ts";
import type { LookupTable, MapOptions } from "./types.ts";
import { openUnix } from "./unix.ts";
import { WatchedFile } from "./watched_file.ts";

export type { LookupTable, MapOptions } from "./types.ts";
export { type AliasTarget, parseAliasTargets } from "./aliases.ts";
export * from "./search.ts";

/** Indexed-file types: Postfix builds them from a source file with postmap; facteur reads the source. */
const INDEXED_TYPES = ["hash", "btree", "lmdb", "cdb", "dbm", "sdbm"];
export const SUPPORTED_TYPES = [
  ...INDEXED_TYPES,
  "texthash",
  "inline",
  "static",
  "regexp",
  "pcre",
  "cidr",
  "unionmap",
  "pipemap",
  "sqlite",
  "unix",
  "proxy",
];

/** Postfix table kinds facteur does not implement (postconf -m, DATABASE_README). */
const NOT_YET = [
  "ldap",
  "mysql",
  "pgsql",
  "memcache",
  "socketmap",
  "tcp",
  "nis",
  "nisplus",
  "netinfo",
  "mongodb",
  "environ",
  "fail",
  "randmap",
  "internal",
];

/** "type:name" → type and name; proxy: is unwrapped (proxymap(8) only relays lookups). */
export function splitSpec(spec: string): { type: string; name: string } {
  let rest = spec;
  for (;;) {
    const colon = rest.indexOf(":");
    const type = rest.slice(0, colon);
    const name = rest.slice(colon + 1);
    if (colon <= 0 || name === "" || !/^[a-z0-9_]+$/i.test(type)) {
      throw tableError({ spec }, `expecting "type:name" form instead of "${spec}"`);
    }
    if (type.toLowerCase() !== "proxy") return { type: type.toLowerCase(), name };
    rest = name;
  }
}

/** Postfix logs these and carries on; facteur does the same unless told where to send them. */
function defaultWarn(message: string): void {
  console.warn(`facteur: warning: ${message}`);
}

export function openMap(spec: string, opts: MapOptions = {}): LookupTable {
  const { type, name } = splitSpec(spec);
  const warn = opts.onWarning ?? defaultWarn;
  const intervalMs = opts.reloadIntervalMs ?? 1000;
  const baseDir = opts.baseDir ?? Deno.cwd();
  const resolvePath = (path: string) => isAbsolute(path) ? path : resolve(baseDir, path);

  if (INDEXED_TYPES.includes(type) || type === "texthash") {
    const path = resolvePath(name);
    const parse = (text: string, strict: boolean) => {
      const ctx = { spec, file: path, warn, strict };
      return opts.aliases ? parseAliasesSource(text, ctx) : parsePostmapSource(text, ctx);
    };
    const file = new WatchedFile({ spec, path, parse, warn, intervalMs });
    return fixedTable(spec, () => file.current());
  }
  switch (type) {
    case "inline":
      return openInline(spec, name);
    case "static":
      return openStatic(spec, name);
    case "regexp":
    case "pcre":
      return openRegexpTable(spec, type, name, {
        warn,
        resolvePath,
        noSubstitution: opts.aliases,
        timeoutMs: opts.regexTimeoutMs,
      });
    case "cidr":
      return openCidr(spec, name, resolvePath, warn);
    case "unionmap":
    case "pipemap":
      return openComposite(spec, type, name, (member) => openMap(member, opts));
    case "sqlite":
      return openSqlite(spec, name, {
        resolvePath,
        warn,
        openTable: (member) => openMap(member, opts),
      });
    case "unix":
      return openUnix(spec, name, { warn, intervalMs });
  }
  const extra = opts.kinds?.[type];
  if (extra) return extra(spec, name);
  const supported = [...SUPPORTED_TYPES, ...Object.keys(opts.kinds ?? {})].join(", ");
  if (NOT_YET.includes(type)) {
    throw tableError(
      { spec },
      `lookup table type "${type}" is not supported yet by facteur (supported: ${supported})`,
    );
  }
  throw tableError(
    { spec },
    `lookup table type "${type}" is not supported: no such type (supported: ${supported})`,
  );
}

/**
 * The tables of a parameter that lists several (alias_maps, virtual_alias_maps,
 * check_*_access ...). Each element may itself hold several specs separated by
 * commas or white space; text inside { } stays together (postconf(5)).
 */
export function parseMapList(value: string[], opts: MapOptions = {}): LookupTable[] {
  return value.flatMap(splitOutsideBraces).map((spec) => openMap(spec, opts));
}
