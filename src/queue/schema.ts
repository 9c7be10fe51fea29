/**
 * The queue database schema as forward migrations. PRAGMA user_version holds
 * the number of steps applied; opening runs the missing ones, each in its own
 * transaction. Never edit a released step: append a new one.
 */
import type { DatabaseSync } from "node:sqlite";

export interface Migration {
  /** What the step does, for error messages. */
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    description: "messages, contents, recipients",
    sql: `
      CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        queue TEXT NOT NULL,
        sender TEXT NOT NULL,
        arrival_time INTEGER NOT NULL,
        next_attempt INTEGER NOT NULL,
        size INTEGER NOT NULL,
        -- JSON: ret, envid, bodyType, smtputf8, client
        params TEXT NOT NULL
      ) WITHOUT ROWID;
      -- Content apart, so scans of messages never page through bodies.
      CREATE TABLE contents (
        message_id TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
        data BLOB NOT NULL
      );
      CREATE TABLE recipients (
        message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        address TEXT NOT NULL,
        orcpt TEXT,
        notify TEXT,
        original TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        PRIMARY KEY (message_id, idx)
      ) WITHOUT ROWID;
      CREATE INDEX messages_due ON messages(queue, next_attempt);
    `,
  },
  {
    description: "delivery attempt history",
    sql: `
      ALTER TABLE messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE recipients ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE recipients ADD COLUMN dsn TEXT;
      ALTER TABLE recipients ADD COLUMN reason TEXT;
      ALTER TABLE recipients ADD COLUMN relay TEXT;
      ALTER TABLE recipients ADD COLUMN last_attempt INTEGER;
      CREATE INDEX messages_arrival ON messages(arrival_time);
    `,
  },
  {
    // postconf(5) delay_warning_time: one warning per message, remembered across restarts.
    description: "delay warning sent",
    sql: `
      ALTER TABLE messages ADD COLUMN delay_warned INTEGER NOT NULL DEFAULT 0;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number };
  return row.user_version;
}

/**
 * Brings the schema up to `target` (default: latest). Refuses a database made
 * by a newer facteur rather than guessing at its layout.
 */
export function migrate(db: DatabaseSync, target = SCHEMA_VERSION): number {
  const current = schemaVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `queue database schema version ${current} is newer than this program's (${SCHEMA_VERSION})`,
    );
  }
  for (let version = current; version < target; version++) {
    const step = MIGRATIONS[version];
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(step.sql);
      // user_version takes no bound parameter; version is a trusted integer.
      db.exec(`PRAGMA user_version = ${version + 1}`);
      db.exec("COMMIT");
    } catch (err) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw new Error(
        `queue database migration ${version + 1} (${step.description}) failed: ${
          (err as Error).message
        }`,
        { cause: err },
      );
    }
  }
  return schemaVersion(db);
}
