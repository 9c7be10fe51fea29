/**
 * QueueStore on node:sqlite: one database file, WAL with synchronous=FULL (a
 * COMMIT returns after the WAL is fsynced), every write through the group
 * committer. node:sqlite is synchronous; the Promises keep the interface the
 * same for asynchronous backends.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { GroupCommitter, type TransactionHost } from "./group_commit.ts";
import { listQuery, type Query, shapeQuery, validateListOptions } from "./list_query.ts";
import { migrate } from "./schema.ts";
import { storageError } from "./storage_errors.ts";
import {
  type AttemptExtras,
  type Envelope,
  type EnvelopeClient,
  type EnvelopeRecipient,
  type ListOptions,
  QUEUE_NAMES,
  type QueuedMessage,
  type QueuedRecipient,
  type QueueName,
  QueueNotFoundError,
  type QueueStore,
  type RecipientResult,
  type RecipientStatus,
  SHAPE_BUCKET_MINUTES,
  type ShapeRow,
} from "./types.ts";
import { validateEnvelope, validateResults } from "./validate.ts";

export interface SqliteQueueOptions {
  /** Group commit window; 0 (default) = collect for one event-loop turn. */
  groupCommitWindowMs?: number;
  /** How long to wait for another process's lock (PRAGMA busy_timeout). Default 5000. */
  busyTimeoutMs?: number;
  /** Cap on the database size (PRAGMA max_page_count); beyond it enqueue answers 452 4.3.1. */
  maxSizeBytes?: number;
  /** Observes the size of each committed batch. */
  onFlush?: (batchSize: number) => void;
}

interface MessageRow {
  id: string;
  queue: QueueName;
  sender: string;
  arrival_time: number;
  next_attempt: number;
  size: number;
  params: string;
  attempts: number;
  delay_warned: number;
}

interface RecipientRow {
  idx: number;
  address: string;
  orcpt: string | null;
  notify: string | null;
  original: string | null;
  status: RecipientStatus;
  attempts: number;
  dsn: string | null;
  reason: string | null;
  relay: string | null;
  last_attempt: number | null;
}

/** Envelope fields kept as one JSON column: read together, never searched. */
interface EnvelopeParams {
  ret?: Envelope["ret"];
  envid?: string;
  bodyType?: Envelope["bodyType"];
  smtputf8?: boolean;
  client?: EnvelopeClient;
}

const MESSAGE_COLUMNS =
  "id, queue, sender, arrival_time, next_attempt, size, params, attempts, delay_warned";

const SQL = {
  insertMessage: `INSERT INTO messages (id, queue, sender, arrival_time, next_attempt, size, params)
    VALUES (?, 'incoming', ?, ?, ?, ?, ?)`,
  insertContent: "INSERT INTO contents (message_id, data) VALUES (?, ?)",
  insertRecipient: `INSERT INTO recipients (message_id, idx, address, orcpt, notify, original)
    VALUES (?, ?, ?, ?, ?, ?)`,
  selectMessage: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ?`,
  selectRecipients: `SELECT idx, address, orcpt, notify, original, status, attempts, dsn, reason,
    relay, last_attempt FROM recipients WHERE message_id = ? ORDER BY idx`,
  selectContent: "SELECT data FROM contents WHERE message_id = ?",
  selectDue: `SELECT ${MESSAGE_COLUMNS} FROM messages
    WHERE queue IN ('incoming', 'deferred') AND next_attempt <= ?
    ORDER BY next_attempt, id LIMIT ?`,
  setQueue: "UPDATE messages SET queue = ? WHERE id = ?",
  updateRecipient: `UPDATE recipients SET status = ?, attempts = attempts + 1, dsn = ?, reason = ?,
    relay = ?, last_attempt = ? WHERE message_id = ? AND idx = ?`,
  countUnfinished: `SELECT count(*) AS n FROM recipients
    WHERE message_id = ? AND status NOT IN ('sent', 'bounced')`,
  // A message held during its delivery attempt stays held (postsuper -h).
  deferAfterAttempt: `UPDATE messages SET
    queue = CASE WHEN queue = 'hold' THEN 'hold' ELSE 'deferred' END,
    next_attempt = ?, attempts = attempts + 1 WHERE id = ?`,
  deleteMessage: "DELETE FROM messages WHERE id = ?",
  setDelayWarned: "UPDATE messages SET delay_warned = 1 WHERE id = ?",
  release:
    "UPDATE messages SET queue = 'deferred', next_attempt = ? WHERE id = ? AND queue = 'hold'",
  requeue: `UPDATE messages SET next_attempt = ?
    WHERE id = ? AND queue IN ('incoming', 'deferred')`,
  // LIKE is ASCII case-insensitive in SQLite: "%@" + domain is the exact domain after the '@'.
  requeueDomain: `UPDATE messages SET next_attempt = ?
    WHERE queue IN ('incoming', 'deferred') AND id IN (SELECT message_id FROM recipients
      WHERE status IN ('pending', 'deferred') AND address LIKE ? ESCAPE '\\')`,
  recoverActive:
    `UPDATE messages SET queue = CASE WHEN attempts = 0 THEN 'incoming' ELSE 'deferred' END
    WHERE queue = 'active'`,
  counts: "SELECT queue, count(*) AS n FROM messages GROUP BY queue",
} as const;

/** MESSAGE_COLUMNS qualified for the listing's alias m. */
const LISTED_COLUMNS = MESSAGE_COLUMNS.split(", ").map((c) => `m.${c}`).join(", ");

type Statements = { [K in keyof typeof SQL]: StatementSync };

/** Final outcomes: nothing more will be tried for this recipient. */
const FINAL: ReadonlySet<RecipientStatus> = new Set(["sent", "bounced"]);

export class SqliteQueueStore implements QueueStore {
  readonly path: string;
  #db: DatabaseSync;
  #stmts: Statements;
  /** Listing statements by SQL text: one per combination of filters, so at most a few dozen. */
  #queries = new Map<string, StatementSync>();
  #committer: GroupCommitter;
  #closed = false;

  constructor(path: string, options: SqliteQueueOptions = {}) {
    this.path = path;
    this.#db = new DatabaseSync(path);
    try {
      configure(this.#db, options);
      migrate(this.#db);
      this.#stmts = prepareAll(this.#db);
    } catch (err) {
      this.#db.close();
      throw err;
    }
    this.#committer = new GroupCommitter(transactionHost(this.#db), {
      windowMs: options.groupCommitWindowMs,
      onFlush: options.onFlush,
    });
  }

  enqueue(id: string, envelope: Envelope, content: Uint8Array): Promise<void> {
    try {
      validateEnvelope(id, envelope, content);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#write(() => this.#insert(id, envelope, content));
  }

  claimDue(now: number, limit: number): Promise<QueuedMessage[]> {
    if (!Number.isFinite(now) || !Number.isInteger(limit) || limit < 1) {
      return Promise.reject(new RangeError(`queue: claimDue(${now}, ${limit}): bad time or limit`));
    }
    return this.#write(() => {
      const rows = this.#stmts.selectDue.all(now, limit) as unknown as MessageRow[];
      return rows.map((row) => {
        this.#stmts.setQueue.run("active", row.id);
        return this.#toMessage({ ...row, queue: "active" });
      });
    });
  }

  content(id: string): Promise<Uint8Array> {
    return this.#read(() => {
      const row = this.#stmts.selectContent.get(id) as { data: Uint8Array } | undefined;
      if (!row) throw new QueueNotFoundError(id);
      return row.data;
    });
  }

  recordAttempt(
    id: string,
    results: RecipientResult[],
    nextAttempt: number,
    extras: AttemptExtras = {},
  ): Promise<void> {
    const notices = extras.notices ?? [];
    try {
      validateResults(results, nextAttempt);
      if (!Array.isArray(notices)) throw new TypeError("queue: notices must be an array");
      for (const n of notices) validateEnvelope(n.id, n.envelope, n.content);
    } catch (err) {
      return Promise.reject(err);
    }
    // One operation, so one transaction: the results and the notices they caused commit together.
    return this.#write(() => {
      this.#applyAttempt(id, results, nextAttempt, Date.now());
      if (extras.delayWarned) this.#stmts.setDelayWarned.run(id); // no row left when finished
      for (const n of notices) this.#insert(n.id, n.envelope, n.content);
    });
  }

  hold(id: string): Promise<boolean> {
    return this.#write(() => changed(this.#stmts.setQueue.run("hold", id)));
  }

  release(id: string): Promise<boolean> {
    return this.#write(() => changed(this.#stmts.release.run(Date.now(), id)));
  }

  remove(id: string): Promise<boolean> {
    return this.#write(() => changed(this.#stmts.deleteMessage.run(id)));
  }

  requeue(id: string): Promise<boolean> {
    return this.#write(() => changed(this.#stmts.requeue.run(Date.now(), id)));
  }

  requeueDomain(domain: string): Promise<number> {
    if (typeof domain !== "string" || domain === "" || /[@\s]/.test(domain)) {
      return Promise.reject(
        new TypeError(`queue: requeueDomain: bad domain ${JSON.stringify(domain)}`),
      );
    }
    const pattern = "%@" + domain.replace(/[\\%_]/g, (c) => "\\" + c);
    return this.#write(() => Number(this.#stmts.requeueDomain.run(Date.now(), pattern).changes));
  }

  markCorrupt(id: string): Promise<boolean> {
    return this.#write(() => changed(this.#stmts.setQueue.run("corrupt", id)));
  }

  get(id: string): Promise<QueuedMessage | undefined> {
    return this.#read(() => {
      const row = this.#stmts.selectMessage.get(id) as MessageRow | undefined;
      return row ? this.#toMessage(row) : undefined;
    });
  }

  list(options: ListOptions = {}): Promise<QueuedMessage[]> {
    return this.#read(() => {
      validateListOptions(options);
      const rows = this.#run(listQuery(LISTED_COLUMNS, options)) as unknown as MessageRow[];
      return rows.map((row) => this.#toMessage(row));
    });
  }

  shape(queue: QueueName | undefined, now: number): Promise<ShapeRow[]> {
    return this.#read(() => {
      if (queue !== undefined && !QUEUE_NAMES.includes(queue)) {
        throw new RangeError(`queue: shape: no queue named ${JSON.stringify(queue)}`);
      }
      if (!Number.isFinite(now)) throw new RangeError(`queue: shape: bad time ${now}`);
      const rows = new Map<string, number[]>();
      const cells = this.#run(shapeQuery(queue, now)) as unknown as {
        domain: string;
        bucket: number;
        n: number;
      }[];
      for (const { domain, bucket, n } of cells) {
        let counts = rows.get(domain);
        if (!counts) rows.set(domain, counts = new Array(SHAPE_BUCKET_MINUTES.length + 1).fill(0));
        counts[bucket] = n;
      }
      return [...rows].map(([domain, counts]) => ({ domain, counts }));
    });
  }

  counts(): Promise<Record<QueueName, number>> {
    return this.#read(() => {
      const counts = Object.fromEntries(QUEUE_NAMES.map((q) => [q, 0])) as Record<
        QueueName,
        number
      >;
      for (const row of this.#stmts.counts.all() as { queue: QueueName; n: number }[]) {
        counts[row.queue] = row.n;
      }
      return counts;
    });
  }

  recoverActive(): Promise<number> {
    return this.#write(() => Number(this.#stmts.recoverActive.run().changes));
  }

  /** Synchronous underneath: flushed and closed when this returns. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#committer.flushNow();
    this.#closed = true;
    try {
      this.#db.close();
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #run(query: Query): unknown[] {
    let stmt = this.#queries.get(query.sql);
    if (!stmt) this.#queries.set(query.sql, stmt = this.#db.prepare(query.sql));
    return stmt.all(...query.params);
  }

  #insert(id: string, envelope: Envelope, content: Uint8Array): void {
    const s = this.#stmts;
    s.insertMessage.run(
      id,
      envelope.sender,
      envelope.arrivalTime,
      envelope.arrivalTime, // due at once
      content.byteLength,
      JSON.stringify(envelopeParams(envelope)),
    );
    s.insertContent.run(id, content);
    envelope.recipients.forEach((r, idx) => {
      s.insertRecipient.run(
        id,
        idx,
        r.address,
        r.orcpt ?? null,
        r.notify?.length ? r.notify.join(",") : null,
        r.original ?? null,
      );
    });
  }

  #applyAttempt(id: string, results: RecipientResult[], nextAttempt: number, now: number): void {
    const s = this.#stmts;
    if (!s.selectMessage.get(id)) throw new QueueNotFoundError(id);
    const recipients = s.selectRecipients.all(id) as unknown as RecipientRow[];
    for (const result of results) {
      const current = recipients[result.index];
      if (!current) {
        throw new RangeError(`queue ${id}: no recipient #${result.index}`);
      }
      if (FINAL.has(current.status)) {
        throw new RangeError(
          `queue ${id}: recipient #${result.index} <${current.address}> is already ${current.status}`,
        );
      }
      s.updateRecipient.run(
        result.status,
        result.dsn,
        result.reason,
        result.relay ?? null,
        now,
        id,
        result.index,
      );
    }
    const { n } = s.countUnfinished.get(id) as { n: number };
    if (n === 0) s.deleteMessage.run(id);
    else s.deferAfterAttempt.run(nextAttempt, id);
  }

  #toMessage(row: MessageRow): QueuedMessage {
    const params = JSON.parse(row.params) as EnvelopeParams;
    const rcpts = this.#stmts.selectRecipients.all(row.id) as unknown as RecipientRow[];
    const message: QueuedMessage = {
      id: row.id,
      queue: row.queue,
      envelope: {
        sender: row.sender,
        arrivalTime: row.arrival_time,
        ...params,
        recipients: rcpts.map(toRecipient),
      },
      size: row.size,
      attempts: row.attempts,
      nextAttempt: row.next_attempt,
    };
    if (row.delay_warned) message.delayWarned = true;
    return message;
  }

  #write<T>(op: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("queue is closed"));
    return this.#committer.run(op).catch((err) => {
      throw asStoreError(err);
    });
  }

  #read<T>(op: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("queue is closed"));
    try {
      return Promise.resolve(op());
    } catch (err) {
      return Promise.reject(asStoreError(err));
    }
  }
}

/** SQLite failures become MailErrors; our own errors (not found, bad argument) pass through. */
function asStoreError(err: unknown): unknown {
  const isSqlite = err instanceof Error && (err as { code?: string }).code === "ERR_SQLITE_ERROR";
  return isSqlite ? storageError(err) : err;
}

function changed(result: { changes: number | bigint }): boolean {
  return Number(result.changes) > 0;
}

function configure(db: DatabaseSync, options: SqliteQueueOptions): void {
  db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
  const { journal_mode } = db.prepare("PRAGMA journal_mode = WAL").get() as {
    journal_mode: string;
  };
  if (journal_mode !== "wal") {
    throw new Error(`queue database: cannot use WAL journal mode (got ${journal_mode})`);
  }
  // FULL: in WAL mode every COMMIT fsyncs the WAL, so committed = durable.
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = ON");
  // Give back the WAL's disk space after checkpoints of large batches.
  db.exec("PRAGMA journal_size_limit = 67108864");
  if (options.maxSizeBytes !== undefined) {
    const { page_size } = db.prepare("PRAGMA page_size").get() as { page_size: number };
    const pages = Math.max(1, Math.floor(options.maxSizeBytes / page_size));
    db.exec(`PRAGMA max_page_count = ${pages}`);
  }
}

function prepareAll(db: DatabaseSync): Statements {
  const entries = Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)]);
  return Object.fromEntries(entries) as Statements;
}

function transactionHost(db: DatabaseSync): TransactionHost {
  return {
    // IMMEDIATE: take the write lock up front, so busy_timeout applies here and not mid-batch.
    begin: () => db.exec("BEGIN IMMEDIATE"),
    commit: () => db.exec("COMMIT"),
    rollback: () => db.exec("ROLLBACK"),
    savepoint: () => db.exec("SAVEPOINT op"),
    releaseSavepoint: () => db.exec("RELEASE op"),
    rollbackToSavepoint: () => db.exec("ROLLBACK TO op"),
    inTransaction: () => db.isTransaction,
  };
}

function envelopeParams(envelope: Envelope): EnvelopeParams {
  const { ret, envid, bodyType, smtputf8, client } = envelope;
  return { ret, envid, bodyType, smtputf8, client }; // JSON drops the undefined ones
}

function toRecipient(row: RecipientRow): QueuedRecipient {
  const recipient: QueuedRecipient = {
    index: row.idx,
    address: row.address,
    status: row.status,
    attempts: row.attempts,
  };
  if (row.orcpt !== null) recipient.orcpt = row.orcpt;
  if (row.notify !== null) {
    recipient.notify = row.notify.split(",") as EnvelopeRecipient["notify"];
  }
  if (row.original !== null) recipient.original = row.original;
  if (row.dsn !== null) recipient.dsn = row.dsn;
  if (row.reason !== null) recipient.reason = row.reason;
  if (row.relay !== null) recipient.relay = row.relay;
  if (row.last_attempt !== null) recipient.lastAttempt = row.last_attempt;
  return recipient;
}
