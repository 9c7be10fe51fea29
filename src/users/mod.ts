/**
 * Users, domains and aliases: the SQLite store behind `facteur user|domain|alias`,
 * the admin API's /v1/users, /v1/domains, /v1/aliases, login checks, and
 * the facteur: lookup tables.
 */
export {
  DEFAULT_MAILBOX_TEMPLATE,
  openUsersStore,
  type StoreOptions,
  USERS_DATABASE,
  UsersStore,
} from "./store.ts";
export { UsersError, type UsersErrorKind } from "./errors.ts";
export type * from "./types.ts";
export { closeSharedUsersStores, sharedUsersStore } from "./shared.ts";
export { facteurKinds, usersStoreOptions } from "./options.ts";
export { FACTEUR_TABLES, type FacteurMapOptions, openFacteurMap } from "./map.ts";
export {
  formatQuota,
  parseAliasAddress,
  parseAliasTargets,
  parseDomain,
  parseMailboxAddress,
  parseQuota,
} from "./syntax.ts";
export { MIGRATIONS, SCHEMA_VERSION } from "./schema.ts";
