/**
 * Maildir delivery (cr.yp.to/proto/maildir.html): write the message into
 * tmp/ under a unique name, fsync it, link it into new/, remove the tmp/
 * name, fsync new/. A reader never sees a partial message, and once the
 * function resolves the message survives a crash.
 */
import { dirname, join } from "node:path";

export interface FileOwner {
  uid: number;
  gid: number;
}

export interface MaildirOptions {
  /** chown created directories and the message file to this owner (root delivering for a user). */
  owner?: FileOwner;
  /** Largest message file in bytes, after line-end conversion; 0 or absent: no limit. */
  sizeLimit?: number;
  /** Right part of the file name; default: this host's name. */
  hostname?: string;
  /** Clock in ms since the epoch, for the file name; default Date.now. */
  now?: () => number;
}

const LF = 0x0a;
const CR = 0x0d;

/** Converts CRLF line ends (the queue's stored form) to LF, as mailbox files use. Bare CRs stay. */
export function crlfToLf(content: Uint8Array): Uint8Array {
  const out = new Uint8Array(content.length);
  let n = 0;
  for (let i = 0; i < content.length; i++) {
    if (content[i] === CR && content[i + 1] === LF) continue;
    out[n++] = content[i];
  }
  return out.subarray(0, n);
}

/** An error with a POSIX-style code, like the ones Deno's file-system calls throw. */
export function codedError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/**
 * Creates `path` and its missing parents with `mode`, chowning the ones it
 * created to `owner`. Existing directories are left as they are.
 */
export async function makeDirs(path: string, mode: number, owner?: FileOwner): Promise<void> {
  const missing: string[] = [];
  for (let dir = path;; dir = dirname(dir)) {
    try {
      const info = await Deno.stat(dir);
      if (!info.isDirectory) throw codedError("ENOTDIR", `${dir} is not a directory`);
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      missing.unshift(dir);
      if (dirname(dir) === dir) break;
    }
  }
  for (const dir of missing) {
    try {
      await Deno.mkdir(dir, { mode });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      continue; // created meanwhile by someone else: theirs to own
    }
    if (owner) await Deno.chown(dir, owner.uid, owner.gid);
  }
}

let deliveries = 0;

/** Maildir spec: "/" and ":" in the host name are written \057 and \072. */
function safeHostname(name: string): string {
  return name.replaceAll("/", "\\057").replaceAll(":", "\\072");
}

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/**
 * A unique name: time.M<usec>P<pid>Q<count>R<random>.host,S=<size>. The
 * spec's "modern delivery identifier" pieces M, P and Q make it unique within
 * this process; R guards against a pid reused after a restart. ",S=" is the
 * size, which Dovecot and others read instead of stat()ing the file.
 */
export function uniqueName(nowMs: number, size: number, hostname: string): string {
  const sec = Math.floor(nowMs / 1000);
  const usec = (nowMs % 1000) * 1000; // the clock has millisecond resolution
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(16);
  deliveries++;
  return `${sec}.M${usec}P${Deno.pid}Q${deliveries}R${random}.${safeHostname(hostname)},S=${size}`;
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await file.write(data.subarray(off));
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/** Creates dir, dir/tmp, dir/new and dir/cur (0700) as needed. */
export async function ensureMaildir(dir: string, owner?: FileOwner): Promise<void> {
  for (const sub of ["tmp", "new", "cur"]) await makeDirs(join(dir, sub), 0o700, owner);
}

/**
 * Delivers `content` (CRLF line ends as stored; written with LF) into the
 * Maildir `dir`, creating it as needed. Resolves to the path of the file in
 * new/. On failure nothing is left in tmp/ or new/. A message over
 * `sizeLimit` rejects with code "EFBIG", like a write past RLIMIT_FSIZE.
 */
export async function deliverToMaildir(
  dir: string,
  content: Uint8Array,
  options: MaildirOptions = {},
): Promise<string> {
  const data = crlfToLf(content);
  if (options.sizeLimit && data.length > options.sizeLimit) {
    throw codedError("EFBIG", `message of ${data.length} bytes exceeds the size limit`);
  }
  await ensureMaildir(dir, options.owner);
  const name = uniqueName((options.now ?? Date.now)(), data.length, options.hostname ?? hostName());
  const tmpPath = join(dir, "tmp", name);
  const newPath = join(dir, "new", name);
  let linked = false;
  try {
    const file = await Deno.open(tmpPath, { write: true, createNew: true, mode: 0o600 });
    try {
      await writeAll(file, data);
      await file.sync();
    } finally {
      file.close();
    }
    if (options.owner) await Deno.chown(tmpPath, options.owner.uid, options.owner.gid);
    await Deno.link(tmpPath, newPath);
    linked = true;
    await Deno.remove(tmpPath);
    await syncDirectory(join(dir, "new"));
    return newPath;
  } catch (e) {
    await Deno.remove(tmpPath).catch(() => {});
    // Not known to be durable: take it back, the caller will try again.
    if (linked) await Deno.remove(newPath).catch(() => {});
    throw e;
  }
}
