/**
 * The users database schema as forward migrations, like the queue's: PRAGMA
 * user_version counts the steps applied; opening runs the missing ones, each
 * in its own transaction. Never edit a released step: append a new one.
 */
import type { DatabaseSync } from "node:sqlite";

export interface Migration {
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    description: "domains, users, aliases",
    sql: `
      CREATE TABLE domains (
        name TEXT PRIMARY KEY,
        created INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT ''
      ) WITHOUT ROWID;
      CREATE TABLE users (
        -- "local@domain", lower-cased
        address TEXT PRIMARY KEY,
        domain TEXT NOT NULL REFERENCES domains(name) ON DELETE RESTRICT,
        -- Dovecot notation "{SCHEME}..."; NULL = cannot log in
        password TEXT,
        -- bytes, 0 = no per-user quota
        quota INTEGER NOT NULL DEFAULT 0 CHECK (quota >= 0),
        enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
        -- relative to virtual_mailbox_base; trailing "/" = Maildir (virtual(8))
        maildir TEXT NOT NULL,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX users_by_domain ON users(domain, address);
      CREATE TABLE aliases (
        -- "local@domain" or "@domain" (catch-all), lower-cased
        address TEXT PRIMARY KEY,
        -- JSON array of target addresses
        targets TEXT NOT NULL,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number };
  return row.user_version;
}

/** Brings the schema up to `target` (default: latest); refuses a database from a newer facteur. */
export function migrate(db: DatabaseSync, target = SCHEMA_VERSION): number {
  const current = schemaVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `users database schema version ${current} is newer than this program's (${SCHEMA_VERSION})`,
    );
  }
  for (let version = current; version < target; version++) {
    const step = MIGRATIONS[version];
    db.exec("BEGIN IMMEDIATE");
    try {
      // Another process may have migrated between our read and our lock.
      if (schemaVersion(db) > version) {
        db.exec("COMMIT");
        continue;
      }
      db.exec(step.sql);
      db.exec(`PRAGMA user_version = ${version + 1}`); // a trusted integer: no binding possible
      db.exec("COMMIT");
    } catch (err) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw new Error(
        `users database migration ${version + 1} (${step.description}) failed: ${
          (err as Error).message
        }`,
        { cause: err },
      );
    }
  }
  return schemaVersion(db);
}
