/**
 * The JSON shapes of accounts, domains and aliases, the same for the admin
 * API and `facteur ... --json`: snake_case, ISO times, never a password.
 */
import type { Account, Alias, Domain } from "./types.ts";

const iso = (ms: number) => new Date(ms).toISOString();

export function accountJson(a: Account) {
  return {
    address: a.address,
    domain: a.domain,
    quota: a.quota,
    enabled: a.enabled,
    maildir: a.maildir,
    password_scheme: a.passwordScheme ?? null,
    created: iso(a.created),
    updated: iso(a.updated),
  };
}

export function domainJson(d: Domain) {
  return { name: d.name, note: d.note, users: d.users, created: iso(d.created) };
}

export function aliasJson(a: Alias) {
  return {
    address: a.address,
    targets: a.targets,
    created: iso(a.created),
    updated: iso(a.updated),
  };
}
