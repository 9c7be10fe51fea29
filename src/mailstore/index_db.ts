/**
 * The store's SQLite index (node:sqlite, WAL): per mailbox UIDVALIDITY,
 * UIDNEXT and HIGHESTMODSEQ (RFC 3501 2.3.1.1, RFC 7162 3.1), per message
 * UID, Maildir base name, current file, flags and keywords, MODSEQ, internal
 * date, sizes, and the cached MIME parse. Expunged UIDs are kept with their
 * MODSEQ for QRESYNC (RFC 7162 3.2.7). The Maildir is the truth: the index
 * can always be rebuilt from it.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";

export const INDEX_FILE = "facteur.index.sqlite";
const SCHEMA_VERSION = "1";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mailboxes(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  uidvalidity INTEGER NOT NULL,
  uidnext INTEGER NOT NULL,
  highestmodseq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages(
  mailbox INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  base TEXT NOT NULL,
  file TEXT NOT NULL,
  flags TEXT NOT NULL,
  modseq INTEGER NOT NULL,
  internal_date INTEGER NOT NULL,
  size INTEGER NOT NULL,
  vsize INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_uid ON messages(mailbox, uid);
CREATE UNIQUE INDEX IF NOT EXISTS messages_base ON messages(mailbox, base);
CREATE TABLE IF NOT EXISTS parsed(
  mailbox INTEGER NOT NULL, uid INTEGER NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY(mailbox, uid)
);
CREATE TABLE IF NOT EXISTS expunged(
  mailbox INTEGER NOT NULL, uid INTEGER NOT NULL, modseq INTEGER NOT NULL,
  PRIMARY KEY(mailbox, uid)
);
`;

export interface MailboxRow {
  id: number;
  name: string;
  uidvalidity: number;
  uidnext: number;
  highestmodseq: number;
}

export interface MessageRow {
  uid: number;
  base: string;
  /** Relative to the folder: "cur/<name>" or "new/<name>". */
  file: string;
  /** System flags and keywords, space-separated. */
  flags: string;
  modseq: number;
  internal_date: number;
  size: number;
  vsize: number | null;
}

/** Opens the index, checking it; throws when it is unusable (the store then rebuilds it). */
export function openIndex(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA busy_timeout = 10000");
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    const check = db.prepare("PRAGMA quick_check").get() as { quick_check?: string } | undefined;
    if (check?.quick_check !== "ok") throw new Error(`index check: ${check?.quick_check}`);
    db.exec(SCHEMA);
    const version = db.prepare("SELECT value FROM meta WHERE key = 'version'").get() as
      | { value: string }
      | undefined;
    if (version === undefined) {
      db.prepare("INSERT INTO meta(key, value) VALUES ('version', ?)").run(SCHEMA_VERSION);
    } else if (version.value !== SCHEMA_VERSION) {
      throw new Error(`index schema version ${version.value}, expected ${SCHEMA_VERSION}`);
    }
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** The queries the store runs, prepared once per database. */
export class IndexDb {
  readonly db: DatabaseSync;
  readonly #stmts = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  #q(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  /** Runs fn in BEGIN IMMEDIATE ... COMMIT: other processes on the index wait (busy_timeout). */
  transaction<T>(fn: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      this.db.exec("COMMIT");
      return out;
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }

  mailbox(name: string): MailboxRow | undefined {
    return this.#q("SELECT * FROM mailboxes WHERE name = ?").get(name) as MailboxRow | undefined;
  }

  mailboxById(id: number): MailboxRow {
    return this.#q("SELECT * FROM mailboxes WHERE id = ?").get(id) as unknown as MailboxRow;
  }

  addMailbox(name: string, uidvalidity: number, uidnext = 1): MailboxRow {
    this.#q("INSERT INTO mailboxes(name, uidvalidity, uidnext, highestmodseq) VALUES (?, ?, ?, 1)")
      .run(name, uidvalidity, uidnext);
    return this.mailbox(name)!;
  }

  renameMailbox(from: string, to: string): void {
    this.#q("UPDATE mailboxes SET name = ? WHERE name = ?").run(to, from);
  }

  dropMailbox(id: number): void {
    for (const table of ["messages", "parsed", "expunged"]) {
      this.#q(`DELETE FROM ${table} WHERE mailbox = ?`).run(id);
    }
    this.#q("DELETE FROM mailboxes WHERE id = ?").run(id);
  }

  setCounters(id: number, uidnext: number, highestmodseq: number): void {
    this.#q("UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?")
      .run(uidnext, highestmodseq, id);
  }

  messages(mailbox: number): MessageRow[] {
    return this.#q(
      "SELECT uid, base, file, flags, modseq, internal_date, size, vsize FROM messages WHERE mailbox = ? ORDER BY uid",
    ).all(mailbox) as unknown as MessageRow[];
  }

  message(mailbox: number, uid: number): MessageRow | undefined {
    return this.#q(
      "SELECT uid, base, file, flags, modseq, internal_date, size, vsize FROM messages WHERE mailbox = ? AND uid = ?",
    ).get(mailbox, uid) as MessageRow | undefined;
  }

  messageByBase(mailbox: number, base: string): MessageRow | undefined {
    return this.#q(
      "SELECT uid, base, file, flags, modseq, internal_date, size, vsize FROM messages WHERE mailbox = ? AND base = ?",
    ).get(mailbox, base) as MessageRow | undefined;
  }

  insertMessage(mailbox: number, row: MessageRow): void {
    this.#q(
      "INSERT INTO messages(mailbox, uid, base, file, flags, modseq, internal_date, size, vsize) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(
      mailbox,
      row.uid,
      row.base,
      row.file,
      row.flags,
      row.modseq,
      row.internal_date,
      row.size,
      row.vsize,
    );
  }

  updateFile(mailbox: number, uid: number, file: string): void {
    this.#q("UPDATE messages SET file = ? WHERE mailbox = ? AND uid = ?").run(file, mailbox, uid);
  }

  updateFlags(mailbox: number, uid: number, file: string, flags: string, modseq: number): void {
    this.#q("UPDATE messages SET file = ?, flags = ?, modseq = ? WHERE mailbox = ? AND uid = ?")
      .run(file, flags, modseq, mailbox, uid);
  }

  setVsize(mailbox: number, uid: number, vsize: number): void {
    this.#q("UPDATE messages SET vsize = ? WHERE mailbox = ? AND uid = ?").run(vsize, mailbox, uid);
  }

  deleteMessage(mailbox: number, uid: number, modseq: number): void {
    this.#q("DELETE FROM messages WHERE mailbox = ? AND uid = ?").run(mailbox, uid);
    this.#q("DELETE FROM parsed WHERE mailbox = ? AND uid = ?").run(mailbox, uid);
    this.#q("INSERT OR REPLACE INTO expunged(mailbox, uid, modseq) VALUES (?, ?, ?)")
      .run(mailbox, uid, modseq);
  }

  expungedSince(mailbox: number, modseq: number): number[] {
    return (this.#q("SELECT uid FROM expunged WHERE mailbox = ? AND modseq > ? ORDER BY uid")
      .all(mailbox, modseq) as { uid: number }[]).map((r) => r.uid);
  }

  parsed(mailbox: number, uid: number): string | undefined {
    const row = this.#q("SELECT data FROM parsed WHERE mailbox = ? AND uid = ?").get(
      mailbox,
      uid,
    ) as
      | { data: string }
      | undefined;
    return row?.data;
  }

  setParsed(mailbox: number, uid: number, data: string): void {
    this.#q("INSERT OR REPLACE INTO parsed(mailbox, uid, data) VALUES (?, ?, ?)").run(
      mailbox,
      uid,
      data,
    );
  }

  usage(): { bytes: number; messages: number } {
    const row = this.#q(
      "SELECT COALESCE(SUM(size), 0) AS bytes, COUNT(*) AS messages FROM messages",
    )
      .get() as { bytes: number; messages: number };
    return { bytes: row.bytes, messages: row.messages };
  }

  close(): void {
    this.#stmts.clear();
    this.db.close();
  }
}
