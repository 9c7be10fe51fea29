/**
 * The facteur: lookup tables, so Postfix's parameters can point at the users
 * database (DATABASE_README: one interface, many kinds):
 *
 *   virtual_mailbox_maps    = facteur:users    user@domain → mailbox path relative to
 *                                              virtual_mailbox_base ("example.com/alice/";
 *                                              a trailing "/" = Maildir, virtual(8))
 *   virtual_mailbox_domains = facteur:domains  domain → the domain
 *   virtual_alias_maps      = facteur:aliases  user@domain or @domain → "target, target"
 *
 * Keys are exact and folded to lower case like hash: tables; the callers'
 * search orders (virtual(5), virtual(8)) decide which keys are asked. Every
 * lookup runs its prepared statement again, so a change made by `facteur
 * user add` in another process is seen at the next lookup (SQLite WAL).
 * Disabled users have no mailbox here (mail to them is "User unknown").
 * facteur:users also answers a bare domain key for a domain it holds, so
 * the default virtual_mailbox_domains = $virtual_mailbox_maps works.
 */
import { tableError } from "../maps/table_error.ts";
import type { LookupTable } from "../maps/types.ts";
import { sharedUsersStore } from "./shared.ts";
import type { UsersStore } from "./store.ts";

export const FACTEUR_TABLES = ["users", "domains", "aliases"] as const;
export type FacteurTable = (typeof FACTEUR_TABLES)[number];

export interface FacteurMapOptions {
  /** data_directory: the tables read its users.sqlite (opened at the first lookup). */
  dataDirectory?: string;
  /** A store to use instead (tests, or a caller that has one open). */
  store?: UsersStore;
}

type Lookup = (store: UsersStore, key: string) => string | undefined;

const LOOKUPS: Record<FacteurTable, Lookup> = {
  users: (store, key) => {
    const at = key.indexOf("@");
    if (at < 0) return store.hasDomain(key) ? key : undefined;
    return at === 0 ? undefined : store.mailboxOf(key); // no catch-all mailboxes
  },
  domains: (store, key) => !key.includes("@") && store.hasDomain(key) ? key : undefined,
  aliases: (store, key) => key.includes("@") ? store.aliasTargets(key)?.join(", ") : undefined,
};

/** Opens facteur:users, facteur:domains or facteur:aliases (`name` is the part after "facteur:"). */
export function openFacteurMap(
  spec: string,
  name: string,
  opts: FacteurMapOptions,
): LookupTable {
  const table = name.toLowerCase() as FacteurTable;
  if (!FACTEUR_TABLES.includes(table)) {
    throw tableError(
      { spec },
      `unknown facteur table "${name}" (facteur:${FACTEUR_TABLES.join(", facteur:")})`,
    );
  }
  if (!opts.store && !opts.dataDirectory) {
    throw tableError({ spec }, "no data_directory to find users.sqlite in");
  }
  // Before the first start there is no data directory, hence no users: nothing is found
  // (rather than every lookup failing, which would refuse all mail with 451).
  let dataDirectorySeen = false;
  const store = (): UsersStore | undefined => {
    if (opts.store) return opts.store;
    if (!dataDirectorySeen) {
      if (!isDirectory(opts.dataDirectory!)) return undefined;
      dataDirectorySeen = true;
    }
    return sharedUsersStore(opts.dataDirectory!);
  };
  const lookup = LOOKUPS[table];
  return {
    spec,
    pattern: false,
    lookup(key: string): Promise<string | undefined> {
      try {
        const opened = store();
        return Promise.resolve(opened && lookup(opened, key.toLowerCase()));
      } catch (e) {
        return Promise.reject(tableError({ spec }, `lookup of "${key}": ${(e as Error).message}`));
      }
    },
  };
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
