/**
 * Group commit: write operations that arrive close together (in one turn of
 * the event loop, or within `windowMs`) run in ONE transaction, so one fsync
 * covers them all; each caller's promise settles only after that commit.
 *
 * Each operation runs inside its own savepoint: one that fails is rolled back
 * alone and rejects alone. When SQLite rolls back the whole transaction on an
 * error (it may, for SQLITE_FULL/IOERR/BUSY), the others are re-run in a new
 * transaction, so no caller is told "stored" for something that was undone.
 */
import { setImmediate } from "node:timers";

/** The transaction primitives of the underlying database. */
export interface TransactionHost {
  begin(): void;
  commit(): void;
  rollback(): void;
  savepoint(): void;
  releaseSavepoint(): void;
  rollbackToSavepoint(): void;
  inTransaction(): boolean;
}

interface PendingOp {
  op: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  result?: unknown;
  failed?: { error: unknown };
}

export interface GroupCommitOptions {
  /** 0 (default): flush after the current event-loop turn (setImmediate). Otherwise wait this many ms. */
  windowMs?: number;
  /** Called with each batch size after a flush, for metrics and tests. */
  onFlush?: (size: number) => void;
}

export class GroupCommitter {
  #pending: PendingOp[] = [];
  #scheduled = false;
  #host: TransactionHost;
  #options: GroupCommitOptions;

  constructor(host: TransactionHost, options: GroupCommitOptions = {}) {
    this.#host = host;
    this.#options = options;
  }

  /** Runs `op` inside the next group transaction; resolves with its result after COMMIT. */
  run<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ op, resolve: resolve as (v: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** Writes everything pending now (used by close()). */
  flushNow(): void {
    const batch = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    if (batch.length === 0) return;
    try {
      this.#writeBatch(batch);
    } catch (error) {
      // A savepoint or rollback statement itself failed: trust nothing in this batch.
      if (this.#host.inTransaction()) this.#tryRollback();
      for (const entry of batch) if (!entry.failed) entry.failed = { error };
    }
    for (const entry of batch) {
      if (entry.failed) entry.reject(entry.failed.error);
      else entry.resolve(entry.result);
    }
    this.#options.onFlush?.(batch.length);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const windowMs = this.#options.windowMs ?? 0;
    if (windowMs > 0) setTimeout(() => this.flushNow(), windowMs);
    else setImmediate(() => this.flushNow());
  }

  #tryRollback(): void {
    try {
      this.#host.rollback();
    } catch {
      // Nothing more can be done here; the next begin() will report the problem.
    }
  }

  /** Sets `result` or `failed` on every entry. */
  #writeBatch(batch: PendingOp[]): void {
    const host = this.#host;
    attempt: while (true) {
      const live = batch.filter((entry) => !entry.failed);
      if (live.length === 0) return;
      try {
        if (host.inTransaction()) host.rollback(); // left open by an earlier failed rollback
        host.begin();
      } catch (error) {
        for (const entry of live) entry.failed = { error };
        return;
      }
      for (const entry of live) {
        host.savepoint();
        try {
          entry.result = entry.op();
          host.releaseSavepoint();
        } catch (error) {
          entry.failed = { error };
          if (!host.inTransaction()) continue attempt; // whole transaction undone: redo the rest
          host.rollbackToSavepoint();
          host.releaseSavepoint();
        }
      }
      try {
        host.commit();
      } catch (error) {
        if (host.inTransaction()) this.#tryRollback();
        for (const entry of live) if (!entry.failed) entry.failed = { error };
      }
      return;
    }
  }
}
