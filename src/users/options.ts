/**
 * Store options from the configuration (facteur parameters):
 *   users_mailbox_path = "%d/%n/"   mailbox path of new users, relative to virtual_mailbox_base
 *   users_password_rehash = yes     rewrite other schemes as Argon2id at a successful login
 */
import type { Config } from "../config/mod.ts";
import type { LookupTable } from "../maps/types.ts";
import { openFacteurMap } from "./map.ts";
import type { StoreOptions } from "./store.ts";

export function usersStoreOptions(config: Config): StoreOptions {
  return {
    mailboxTemplate: config.get("users_mailbox_path"),
    rehash: config.bool("users_password_rehash"),
    mailboxBase: config.path("virtual_mailbox_base"),
  };
}

/** The `facteur:` table kind (facteur:users, facteur:domains, facteur:aliases) for openMap. */
export function facteurKinds(
  dataDirectory: string,
): Record<string, (spec: string, name: string) => LookupTable> {
  return { facteur: (spec, name) => openFacteurMap(spec, name, { dataDirectory }) };
}
