/**
 * mbox delivery (mboxrd flavour): a "From sender date" line, the message with
 * LF line ends and ">From " quoting, then an empty line. The mailbox is
 * locked with a dot-lock (file.lock created exclusively; stale after a
 * while) and flock(), the append is fsynced, and on any failure the file is
 * truncated back to its length before, so no half message is ever left.
 */
import { codedError, crlfToLf, type FileOwner } from "./maildir.ts";

export interface MboxOptions {
  /** Envelope sender; "" (the null sender) is written MAILER-DAEMON. */
  sender: string;
  /** Time on the From_ line; default now. */
  date?: Date;
  /** Largest mailbox file in bytes after the append; 0 or absent: no limit. */
  sizeLimit?: number;
  /** chown a newly created mailbox to this owner. */
  owner?: FileOwner;
  /** How long to wait for the dot-lock (ms); default 20 s (Postfix: 20 attempts, 1 s apart). */
  lockTimeoutMs?: number;
  /** A dot-lock older than this is removed (ms); default 500 s (postconf(5) stale_lock_time). */
  staleLockMs?: number;
  /** Wait between lock attempts (ms); default 250. */
  lockRetryMs?: number;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** asctime(3) format in local time: "Mon Jan  5 01:02:03 2026". */
export function asctime(d: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`;
}

/** Postfix mail_copy(): "From sender  date" with two spaces, MAILER-DAEMON for <>. */
export function fromLine(sender: string, date: Date): string {
  return `From ${sender === "" ? "MAILER-DAEMON" : sender}  ${asctime(date)}\n`;
}

const encoder = new TextEncoder();
const LF = 0x0a;
const GT = 0x3e;
const FROM = encoder.encode("From ");

/** mboxrd: a line matching /^>*From / gets one more ">". */
function needsQuote(data: Uint8Array, start: number): boolean {
  let i = start;
  while (data[i] === GT) i++;
  for (let k = 0; k < FROM.length; k++) if (data[i + k] !== FROM[k]) return false;
  return true;
}

/**
 * The bytes appended for one message: From_ line, content (CRLF → LF, quoted),
 * a final line end if missing, and the separating empty line.
 */
export function mboxEntry(content: Uint8Array, sender: string, date: Date): Uint8Array {
  const body = crlfToLf(content);
  const head = encoder.encode(fromLine(sender, date));
  let quotes = 0;
  for (let i = 0; i < body.length; i = body.indexOf(LF, i) + 1 || body.length) {
    if (needsQuote(body, i)) quotes++;
  }
  const missingEol = body.length > 0 && body[body.length - 1] !== LF ? 1 : 0;
  const out = new Uint8Array(head.length + body.length + quotes + missingEol + 1);
  out.set(head);
  let n = head.length;
  let lineStart = true;
  for (let i = 0; i < body.length; i++) {
    if (lineStart && needsQuote(body, i)) out[n++] = GT;
    out[n++] = body[i];
    lineStart = body[i] === LF;
  }
  if (missingEol) out[n++] = LF;
  out[n++] = LF;
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes the dot-lock `lockPath` (O_CREAT|O_EXCL). A lock older than
 * `staleMs` is taken to be left by a crash and removed. Rejects with code
 * "EAGAIN" after `timeoutMs`.
 */
export async function dotLock(
  lockPath: string,
  timeoutMs: number,
  staleMs: number,
  retryMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const file = await Deno.open(lockPath, { write: true, createNew: true, mode: 0o600 });
      await file.write(encoder.encode(`${Deno.pid}\n`)).finally(() => file.close());
      return;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    const info = await Deno.stat(lockPath).catch(() => undefined);
    if (info?.mtime && Date.now() - info.mtime.getTime() > staleMs) {
      await Deno.remove(lockPath).catch(() => {});
      continue;
    }
    if (Date.now() >= deadline) {
      throw codedError("EAGAIN", `unable to lock for exclusive access: ${lockPath} exists`);
    }
    await sleep(retryMs);
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await file.write(data.subarray(off));
}

/** Opens the mailbox for appending; refuses symbolic links and anything but a regular file. */
async function openMailbox(path: string, owner?: FileOwner): Promise<Deno.FsFile> {
  const before = await Deno.lstat(path).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  });
  if (before && !before.isFile) {
    throw codedError("ENOTREG", `destination ${path} is not a regular file`);
  }
  const file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
  try {
    const after = await file.stat();
    // Same file as checked (no symlink swapped in meanwhile)?
    if (!after.isFile || (before && (before.ino !== after.ino || before.dev !== after.dev))) {
      throw codedError("ENOTREG", `destination ${path} is not a regular file`);
    }
    if (!before && owner) await Deno.chown(path, owner.uid, owner.gid);
    return file;
  } catch (e) {
    file.close();
    throw e;
  }
}

/**
 * Appends `content` (CRLF line ends as stored) to the mbox file `path`,
 * creating it (0600) if needed. Rejects with code "EFBIG" when the mailbox
 * would exceed `sizeLimit`, "EAGAIN" when the lock is not had in time,
 * "ENOTREG" for a destination that is not a regular file; the file is then
 * unchanged.
 */
export async function appendToMbox(
  path: string,
  content: Uint8Array,
  options: MboxOptions,
): Promise<void> {
  const entry = mboxEntry(content, options.sender, options.date ?? new Date());
  const lockPath = `${path}.lock`;
  await dotLock(
    lockPath,
    options.lockTimeoutMs ?? 20_000,
    options.staleLockMs ?? 500_000,
    options.lockRetryMs ?? 250,
  );
  try {
    const file = await openMailbox(path, options.owner);
    try {
      await file.lock(true);
      const original = (await file.stat()).size;
      if (options.sizeLimit && original + entry.length > options.sizeLimit) {
        throw codedError("EFBIG", `mailbox ${path} would exceed the size limit`);
      }
      try {
        await writeAll(file, entry);
        await file.sync();
      } catch (e) {
        await file.truncate(original).catch(() => {});
        await file.sync().catch(() => {});
        throw e;
      }
    } finally {
      file.close(); // also releases the flock
    }
  } finally {
    await Deno.remove(lockPath).catch(() => {});
  }
}
