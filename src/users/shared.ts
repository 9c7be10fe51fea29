/**
 * One users store per database file in a process: the facteur: lookup
 * tables and the admin API share its connection and prepared statements.
 */
import { resolve } from "node:path";
import { openUsersStore, type StoreOptions, USERS_DATABASE, type UsersStore } from "./store.ts";

const stores = new Map<string, UsersStore>();

/** The store of `dataDirectory`/users.sqlite, opened (and created) at the first call. */
export function sharedUsersStore(dataDirectory: string, opts: StoreOptions = {}): UsersStore {
  const path = resolve(dataDirectory, USERS_DATABASE);
  let store = stores.get(path);
  if (!store) {
    store = openUsersStore(path, opts);
    stores.set(path, store);
  }
  return store;
}

/** Closes every shared store (server stop, tests). */
export function closeSharedUsersStores(): void {
  for (const store of stores.values()) store.close();
  stores.clear();
}
