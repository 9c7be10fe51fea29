/**
 * Storage failures as SMTP-meaningful errors. node:sqlite errors carry only a
 * message (code "ERR_SQLITE_ERROR", no errcode), so the SQLite result is
 * recognised by its fixed English text (sqlite3ErrStr).
 */
import { MailError } from "../errors.ts";

/** SQLITE_FULL's text; also what an ENOSPC during a write turns into. */
const DISK_FULL = "database or disk is full";

export function isDiskFull(err: unknown): boolean {
  return err instanceof Error && err.message.includes(DISK_FULL);
}

/**
 * RFC 3463 4.3.1 "mail system full" with RFC 5321 4.2.2's 452; anything else
 * is a temporary local error (451 4.3.0), as Postfix answers
 * "451 4.3.0 Error: queue file write error".
 */
export function storageError(err: unknown): MailError {
  if (err instanceof MailError) return err;
  if (isDiskFull(err)) {
    return new MailError(452, "4.3.1", "Insufficient system storage", { cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new MailError(451, "4.3.0", `Queue file write error: ${detail}`, { cause: err });
}
