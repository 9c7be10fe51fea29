/**
 * Users, domains and aliases in `$data_directory/users.sqlite` (node:sqlite,
 * WAL). Every write is one IMMEDIATE transaction; every read runs a prepared
 * statement again, so the server sees what the CLI wrote in another process
 * at once. Methods return Promises like the queue's store (a PostgreSQL
 * backend could take its place).
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { join } from "node:path";
import { type HashParams, hashPassword, verifyPassword } from "../auth/password.ts";
import { splitScheme } from "../auth/schemes.ts";
import { importPasswdFile } from "./dovecot_import.ts";
import { prepareMailbox } from "./mailbox.ts";
import { UsersError } from "./errors.ts";
import { migrate } from "./schema.ts";
import {
  type Address,
  checkPassword,
  mailboxPath,
  parseAliasAddress,
  parseAliasTargets,
  parseDomain,
  parseMailboxAddress,
  parseMaildirPath,
  parseQuota,
} from "./syntax.ts";
import type {
  Account,
  Alias,
  Domain,
  ImportResult,
  NewUser,
  UserChanges,
  UserFilter,
  UserPage,
} from "./types.ts";

export const USERS_DATABASE = "users.sqlite";

/** Dovecot's %d/%n: "example.com/alice/", as the virtual_mailbox_maps examples of virtual(8). */
export const DEFAULT_MAILBOX_TEMPLATE = "%d/%n/";

export interface StoreOptions {
  /** Mailbox path of new users: %d domain, %n local part, %u address (default "%d/%n/"). */
  mailboxTemplate?: string;
  /** Store a new Argon2id hash after a login with an older scheme or parameters (default true). */
  rehash?: boolean;
  /** Argon2id parameters of new hashes (tests may pass cheaper ones). */
  hashParams?: HashParams;
  /** ms epoch; Date.now by default. */
  now?: () => number;
  /** Warnings (a stored hash that cannot be checked). Default: console.warn. */
  warn?: (message: string) => void;
  /** How long a write waits for another process's transaction, ms (default 5000). */
  busyTimeoutMs?: number;
  /**
   * virtual_mailbox_base: when set, a user's Maildir is created with the account
   * and its quota is written to the Maildir++ maildirsize file (mailbox.ts).
   */
  mailboxBase?: string;
}

interface UserRow {
  address: string;
  domain: string;
  password: string | null;
  quota: number;
  enabled: number;
  maildir: string;
  created: number;
  updated: number;
}

interface AliasRow {
  address: string;
  targets: string;
  created: number;
  updated: number;
}

function toAccount(row: UserRow): Account {
  const at = row.address.lastIndexOf("@");
  const account: Account = {
    address: row.address,
    local: row.address.slice(0, at),
    domain: row.domain,
    quota: row.quota,
    enabled: row.enabled === 1,
    maildir: row.maildir,
    created: row.created,
    updated: row.updated,
  };
  if (row.password !== null) account.passwordScheme = splitScheme(row.password).scheme;
  return account;
}

function toAlias(row: AliasRow): Alias {
  return {
    address: row.address,
    targets: JSON.parse(row.targets),
    created: row.created,
    updated: row.updated,
  };
}

/** A synchronous body as a Promise: its throw becomes a rejection. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

const notFound = (what: string) => new UsersError("not_found", what);

/** Creates the file readable by its owner only (it holds password hashes) before SQLite opens it. */
function createPrivateFile(path: string): void {
  try {
    Deno.openSync(path, { createNew: true, write: true, mode: 0o600 }).close();
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
}

/** Opens (creating and migrating as needed) `dir/users.sqlite`, or a path ending in .sqlite, or ":memory:". */
export function openUsersStore(dirOrFile: string, opts: StoreOptions = {}): UsersStore {
  const path = dirOrFile === ":memory:" || dirOrFile.endsWith(".sqlite")
    ? dirOrFile
    : join(dirOrFile, USERS_DATABASE);
  if (path !== ":memory:") createPrivateFile(path);
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.trunc(opts.busyTimeoutMs ?? 5000)}`);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  return new UsersStore(db, path, opts);
}

export class UsersStore {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #template: string;
  readonly #mailboxBase?: string;
  readonly #rehash: boolean;
  readonly #hashParams?: HashParams;
  readonly #now: () => number;
  readonly #warn: (message: string) => void;
  readonly #statements = new Map<string, StatementSync>();
  #dummyHash?: Promise<string>;

  constructor(db: DatabaseSync, path: string, opts: StoreOptions = {}) {
    this.#db = db;
    this.path = path;
    this.#template = opts.mailboxTemplate ?? DEFAULT_MAILBOX_TEMPLATE;
    this.#mailboxBase = opts.mailboxBase || undefined;
    this.#rehash = opts.rehash ?? true;
    this.#hashParams = opts.hashParams;
    this.#now = opts.now ?? Date.now;
    this.#warn = opts.warn ?? ((m) => console.warn(`facteur: warning: ${m}`));
  }

  /** One prepared statement per SQL text, kept for the life of the store. */
  #sql(text: string): StatementSync {
    let statement = this.#statements.get(text);
    if (!statement) {
      statement = this.#db.prepare(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  /** Runs `fn` in BEGIN IMMEDIATE ... COMMIT; any throw rolls everything back. */
  #write<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (e) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  #hash(password: string): Promise<string> {
    checkPassword(password);
    return this.#hashParams ? hashPassword(password, this.#hashParams) : hashPassword(password);
  }

  #userRow(address: string): UserRow | undefined {
    return this.#sql("SELECT * FROM users WHERE address = ?").get(address) as UserRow | undefined;
  }

  #domainExists(name: string): boolean {
    return this.#sql("SELECT 1 FROM domains WHERE name = ?").get(name) !== undefined;
  }

  // ---- users ----

  /** Adds a user; its domain must exist. The password is hashed (or a given hash kept). */
  async add(address: string, user: NewUser = {}): Promise<Account> {
    const { a, quota, maildir } = this.#newUser(address, user); // before hashing: errors are cheap
    const hash = user.password !== undefined
      ? await this.#hash(user.password)
      : user.passwordHash ?? null;
    const now = this.#now();
    this.#write(() => {
      this.#checkAddable(a);
      this.#insertUser(a, hash, quota, user.enabled ?? true, maildir, now);
    });
    return await this.#prepared(toAccount(this.#userRow(a.address)!));
  }

  /** The account's mailbox made ready on disk (when mailboxBase is set). */
  async #prepared(account: Account): Promise<Account> {
    if (this.#mailboxBase) await prepareMailbox(this.#mailboxBase, account);
    return account;
  }

  /** Would add() accept this user (syntax, domain, not there yet)? Throws its error if not. */
  checkNewUser(address: string, user: NewUser = {}): Promise<void> {
    return settle(() => {
      this.#newUser(address, user);
    });
  }

  #newUser(address: string, user: NewUser) {
    const a = parseMailboxAddress(address);
    const quota = parseQuota(user.quota ?? 0);
    const maildir = user.maildir !== undefined
      ? parseMaildirPath(user.maildir)
      : mailboxPath(this.#template, a);
    if (user.password !== undefined && user.passwordHash !== undefined) {
      throw new UsersError("invalid", "give a password or a password hash, not both");
    }
    if (user.password !== undefined) checkPassword(user.password);
    this.#checkAddable(a);
    return { a, quota, maildir };
  }

  #checkAddable(a: Address): void {
    if (!this.#domainExists(a.domain)) {
      throw notFound(`no such domain ${a.domain} (add it first: facteur domain add ${a.domain})`);
    }
    if (this.#userRow(a.address)) throw new UsersError("conflict", `user ${a.address} exists`);
  }

  #insertUser(
    a: Address,
    hash: string | null,
    quota: number,
    enabled: boolean,
    maildir: string,
    now: number,
  ): void {
    this.#sql(
      `INSERT INTO users (address, domain, password, quota, enabled, maildir, created, updated)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(a.address, a.domain, hash, quota, enabled ? 1 : 0, maildir, now, now);
  }

  /** The user, or undefined (bad syntax too: no such user can exist). */
  get(address: string): Promise<Account | undefined> {
    return settle(() => {
      let key: string;
      try {
        key = parseMailboxAddress(address).address;
      } catch {
        return undefined;
      }
      const row = this.#userRow(key);
      return row ? toAccount(row) : undefined;
    });
  }

  /** Users in address order, a page at a time. */
  list(filter: UserFilter = {}): Promise<UserPage> {
    return settle(() => {
      const limit = filter.limit ?? -1;
      const cursor = filter.cursor ?? "";
      const rows = (filter.domain !== undefined
        ? this.#sql(
          "SELECT * FROM users WHERE domain = ? AND address > ? ORDER BY address LIMIT ?",
        ).all(parseDomain(filter.domain), cursor, limit === -1 ? -1 : limit + 1)
        : this.#sql("SELECT * FROM users WHERE address > ? ORDER BY address LIMIT ?")
          .all(cursor, limit === -1 ? -1 : limit + 1)) as unknown as UserRow[];
      const more = limit !== -1 && rows.length > limit;
      const users = (more ? rows.slice(0, limit) : rows).map(toAccount);
      return more ? { users, next: users[users.length - 1].address } : { users };
    });
  }

  /** Changes several things at once, in one transaction. */
  async update(address: string, changes: UserChanges): Promise<Account> {
    const a = parseMailboxAddress(address);
    const quota = changes.quota === undefined ? undefined : parseQuota(changes.quota);
    const maildir = changes.maildir === undefined ? undefined : parseMaildirPath(changes.maildir);
    if (!this.#userRow(a.address)) throw notFound(`no such user ${a.address}`);
    const hash = changes.password === undefined ? undefined : await this.#hash(changes.password);
    this.#write(() => {
      const row = this.#userRow(a.address);
      if (!row) throw notFound(`no such user ${a.address}`);
      this.#sql(
        `UPDATE users SET password = ?, quota = ?, enabled = ?, maildir = ?, updated = ?
         WHERE address = ?`,
      ).run(
        hash ?? row.password,
        quota ?? row.quota,
        changes.enabled === undefined ? row.enabled : changes.enabled ? 1 : 0,
        maildir ?? row.maildir,
        this.#now(),
        a.address,
      );
    });
    const account = toAccount(this.#userRow(a.address)!);
    return quota !== undefined || maildir !== undefined ? await this.#prepared(account) : account;
  }

  passwd(address: string, password: string): Promise<Account> {
    return this.update(address, { password });
  }

  setQuota(address: string, quota: number | string): Promise<Account> {
    return this.update(address, { quota });
  }

  enable(address: string): Promise<Account> {
    return this.update(address, { enabled: true });
  }

  disable(address: string): Promise<Account> {
    return this.update(address, { enabled: false });
  }

  /** Removes the user (its Maildir stays on disk, as with Postfix). */
  del(address: string): Promise<void> {
    return settle(() => {
      const a = parseMailboxAddress(address);
      this.#write(() => {
        const { changes } = this.#sql("DELETE FROM users WHERE address = ?").run(a.address);
        if (changes === 0) throw notFound(`no such user ${a.address}`);
      });
      return;
    });
  }

  /**
   * The account when `password` is right and the account enabled, else
   * undefined. Unknown and disabled accounts cost a hash check too, so
   * timing does not tell which addresses exist. With `rehash`, a password
   * stored in another scheme (an imported one) is replaced by Argon2id.
   */
  async authenticate(address: string, password: string): Promise<Account | undefined> {
    let row: UserRow | undefined;
    try {
      row = this.#userRow(parseMailboxAddress(address).address);
    } catch {
      row = undefined;
    }
    if (!row || row.enabled !== 1 || row.password === null) {
      await verifyPassword(password, await this.#dummy());
      return undefined;
    }
    const stored = row.password;
    const result = this.#hashParams
      ? await verifyPassword(password, stored, this.#hashParams)
      : await verifyPassword(password, stored);
    if (result.error) this.#warn(`user ${row.address}: stored password: ${result.error}`);
    if (!result.ok) return undefined;
    if (result.rehash && this.#rehash) await this.#rehashPassword(row.address, stored, password);
    return toAccount(this.#userRow(row.address) ?? row);
  }

  /** Only if the hash is still the one checked: a concurrent passwd wins. */
  async #rehashPassword(address: string, stored: string, password: string): Promise<void> {
    let hash: string;
    try {
      hash = await this.#hash(password);
    } catch {
      return; // a password we could not store (too long): keep the old hash
    }
    this.#write(() =>
      this.#sql("UPDATE users SET password = ?, updated = ? WHERE address = ? AND password = ?")
        .run(hash, this.#now(), address, stored)
    );
  }

  #dummy(): Promise<string> {
    return this.#dummyHash ??= this.#hash("facteur timing equaliser");
  }

  // ---- domains ----

  addDomain(name: string, note = ""): Promise<Domain> {
    return settle(() => {
      const domain = parseDomain(name);
      if (/[\u0000-\u001f\u007f]/.test(note)) {
        throw new UsersError("invalid", "domain note contains control characters");
      }
      this.#write(() => {
        if (this.#domainExists(domain)) throw new UsersError("conflict", `domain ${domain} exists`);
        this.#sql("INSERT INTO domains (name, created, note) VALUES (?, ?, ?)")
          .run(domain, this.#now(), note);
      });
      return this.#domain(domain)!;
    });
  }

  #domain(name: string): Domain | undefined {
    return this.#sql(
      `SELECT name, note, created, (SELECT count(*) FROM users WHERE domain = name) AS users
       FROM domains WHERE name = ?`,
    ).get(name) as Domain | undefined;
  }

  getDomain(name: string): Promise<Domain | undefined> {
    return settle(() => {
      let domain: string;
      try {
        domain = parseDomain(name);
      } catch {
        return undefined;
      }
      return this.#domain(domain);
    });
  }

  listDomains(): Promise<Domain[]> {
    return settle(() => {
      const rows = this.#sql(
        `SELECT name, note, created, (SELECT count(*) FROM users WHERE domain = name) AS users
       FROM domains ORDER BY name`,
      ).all() as unknown as Domain[];
      return rows.map((r) => ({ ...r }));
    });
  }

  /**
   * Removes a domain. With users it refuses unless `force`, which removes
   * them too. Aliases are left: they may serve virtual_alias_domains.
   */
  delDomain(name: string, opts: { force?: boolean } = {}): Promise<{ usersDeleted: number }> {
    return settle(() => {
      const domain = parseDomain(name);
      const usersDeleted = this.#write(() => {
        const found = this.#domain(domain);
        if (!found) throw notFound(`no such domain ${domain}`);
        if (found.users > 0 && !opts.force) {
          throw new UsersError(
            "conflict",
            `domain ${domain} has ${found.users} user(s); delete them first or force it`,
          );
        }
        const { changes } = this.#sql("DELETE FROM users WHERE domain = ?").run(domain);
        this.#sql("DELETE FROM domains WHERE name = ?").run(domain);
        return Number(changes);
      });
      return { usersDeleted };
    });
  }

  // ---- aliases ----

  /** Adds (or with `replace`, replaces) an alias; loops are the rewriter's business, not refused here. */
  addAlias(address: string, targets: readonly string[], opts: { replace?: boolean } = {}) {
    return settle(() => {
      const key = parseAliasAddress(address).address;
      const list = parseAliasTargets(targets);
      const now = this.#now();
      this.#write(() => {
        const existing = this.#aliasRow(key);
        if (existing && !opts.replace) {
          throw new UsersError(
            "conflict",
            `alias ${key} exists (→ ${toAlias(existing).targets.join(", ")})`,
          );
        }
        if (existing) {
          this.#sql("UPDATE aliases SET targets = ?, updated = ? WHERE address = ?")
            .run(JSON.stringify(list), now, key);
        } else {
          this.#sql("INSERT INTO aliases (address, targets, created, updated) VALUES (?, ?, ?, ?)")
            .run(key, JSON.stringify(list), now, now);
        }
      });
      return toAlias(this.#aliasRow(key)!);
    });
  }

  #aliasRow(key: string): AliasRow | undefined {
    return this.#sql("SELECT * FROM aliases WHERE address = ?").get(key) as AliasRow | undefined;
  }

  getAlias(address: string): Promise<Alias | undefined> {
    return settle(() => {
      let key: string;
      try {
        key = parseAliasAddress(address).address;
      } catch {
        return undefined;
      }
      const row = this.#aliasRow(key);
      return row ? toAlias(row) : undefined;
    });
  }

  /** Aliases in address order; with `domain`, its own and its catch-all only. */
  listAliases(filter: { domain?: string } = {}): Promise<Alias[]> {
    return settle(() => {
      const rows = (filter.domain === undefined
        ? this.#sql("SELECT * FROM aliases ORDER BY address").all()
        : this.#sql(
          "SELECT * FROM aliases WHERE substr(address, instr(address, '@') + 1) = ? ORDER BY address",
        ).all(parseDomain(filter.domain))) as unknown as AliasRow[];
      return rows.map(toAlias);
    });
  }

  delAlias(address: string): Promise<void> {
    return settle(() => {
      const key = parseAliasAddress(address).address;
      this.#write(() => {
        const { changes } = this.#sql("DELETE FROM aliases WHERE address = ?").run(key);
        if (changes === 0) throw notFound(`no such alias ${key}`);
      });
      return;
    });
  }

  // ---- lookups for the facteur: tables (synchronous, exact lower-cased keys) ----

  /** virtual_mailbox_maps: an enabled user's mailbox path. */
  mailboxOf(address: string): string | undefined {
    const row = this.#sql("SELECT maildir FROM users WHERE address = ? AND enabled = 1")
      .get(address) as { maildir: string } | undefined;
    return row?.maildir;
  }

  /** virtual_mailbox_domains: is it ours. */
  hasDomain(name: string): boolean {
    return this.#domainExists(name);
  }

  /** virtual_alias_maps: the targets of "user@domain" or "@domain". */
  aliasTargets(key: string): string[] | undefined {
    const row = this.#sql("SELECT targets FROM aliases WHERE address = ?").get(key) as
      | { targets: string }
      | undefined;
    return row ? JSON.parse(row.targets) : undefined;
  }

  // ---- import ----

  /** The stored hash of an account, for import tests and audits (never shown by the CLI or API). */
  storedPassword(address: string): string | undefined {
    return this.#userRow(parseMailboxAddress(address).address)?.password ?? undefined;
  }

  /**
   * Imports a Dovecot passwd-file: each user with its {SCHEME} hash as it is,
   * so passwords keep working (and become Argon2id at the first login).
   * Users that exist are skipped; bad lines are listed. One transaction.
   */
  importDovecotPasswdFile(
    text: string,
    domainDefault?: string,
    opts: { createDomains?: boolean } = {},
  ): Promise<ImportResult> {
    const added: string[] = [];
    return settle(() => {
      const domain = domainDefault === undefined ? undefined : parseDomain(domainDefault);
      return (this.#write(() =>
        importPasswdFile(text, {
          domainExists: (d) => this.#domainExists(d),
          userExists: (a) => this.#userRow(a) !== undefined,
          insertDomain: (d) =>
            this.#sql("INSERT INTO domains (name, created, note) VALUES (?, ?, ?)")
              .run(d, this.#now(), "imported"),
          insertUser: (a, hash, quota) => {
            this.#insertUser(a, hash, quota, true, mailboxPath(this.#template, a), this.#now());
            added.push(a.address);
          },
        }, { domainDefault: domain, createDomains: opts.createDomains ?? false })
      ));
    }).then(async (result) => {
      // After the commit: the imported users' mailboxes and quotas (userdb_quota_rule).
      for (const address of added) await this.#prepared(toAccount(this.#userRow(address)!));
      return result;
    });
  }

  close(): void {
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }
}
