/**
 * Maildir delivery (cr.yp.to/proto/maildir.html): write the message into
 * tmp/ under a unique name, fsync it, link it into new/, remove the tmp/
 * name, fsync new/. A reader never sees a partial message, and once the
 * function resolves the message survives a crash.
 *
 * deliverOnceToMaildir() names the file after the delivery itself (queue id,
 * recipient, member), so that delivering the same thing again after a crash
 * finds the first copy instead of writing a second one.
 */
import { dirname, join } from "node:path";
import { virtualSize } from "./filename.ts";

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

/**
 * Maildirs this process has seen complete: a delivery to one of them goes
 * straight to writing (three stat calls saved per message). If one is
 * removed meanwhile, the write fails with NotFound and the delivery checks
 * the folders again (see `withMaildir`).
 */
const ensured = new Set<string>();

/** Creates dir, dir/tmp, dir/new and dir/cur (0700) as needed. */
export async function ensureMaildir(dir: string, owner?: FileOwner): Promise<void> {
  if (ensured.has(dir)) return;
  for (const sub of ["tmp", "new", "cur"]) await makeDirs(join(dir, sub), 0o700, owner);
  ensured.add(dir);
}

/** Runs `write` in the Maildir `dir`; if its folders went missing, makes them again and retries once. */
async function withMaildir<T>(dir: string, owner: FileOwner | undefined, write: () => Promise<T>) {
  await ensureMaildir(dir, owner);
  try {
    return await write();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) || !ensured.delete(dir)) throw e;
    await ensureMaildir(dir, owner);
    return await write();
  }
}

/** CRLF → LF, refused with EFBIG (like a write past RLIMIT_FSIZE) when over the limit. */
function mailboxData(content: Uint8Array, sizeLimit?: number): Uint8Array {
  const data = crlfToLf(content);
  if (sizeLimit && data.length > sizeLimit) {
    throw codedError("EFBIG", `message of ${data.length} bytes exceeds the size limit`);
  }
  return data;
}

/**
 * tmp/name → fsync → link into new/ → unlink tmp/name → fsync new/.
 * `reuseTmp`: the name is deterministic, so a tmp/ file by that name is a
 * leftover of an interrupted attempt of this very delivery: overwrite it.
 * Resolves to the new/ path; on failure nothing of this call is left.
 */
async function writeAndLink(
  dir: string,
  name: string,
  data: Uint8Array,
  owner: FileOwner | undefined,
  reuseTmp: boolean,
): Promise<string> {
  const tmpPath = join(dir, "tmp", name);
  const newPath = join(dir, "new", name);
  let linked = false;
  try {
    const file = await Deno.open(
      tmpPath,
      reuseTmp
        ? { write: true, create: true, truncate: true, mode: 0o600 }
        : { write: true, createNew: true, mode: 0o600 },
    );
    try {
      await writeAll(file, data);
      await file.sync();
    } finally {
      file.close();
    }
    if (owner) await Deno.chown(tmpPath, owner.uid, owner.gid);
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
  const data = mailboxData(content, options.sizeLimit);
  const name = uniqueName((options.now ?? Date.now)(), data.length, options.hostname ?? hostName());
  return await withMaildir(
    dir,
    options.owner,
    () => writeAndLink(dir, name, data, options.owner, false),
  );
}

/** Identifies one final delivery, so that every attempt of it gives its file the same name. */
export interface DeliveryId {
  /** The queue id: unique on this host, letters and digits. */
  queueId: string;
  /**
   * Which delivery of the message: the envelope recipient's index, then for
   * an expansion (alias member) a tag of the member: "0", "3-9f86d081".
   * Digits, lower-case letters and "-" (never "R", so the name parses back).
   */
  key: string;
  /** Arrival time of the message, ms since the epoch: the name's time part. */
  arrivalMs: number;
}

/**
 * <arrival seconds>.Q<queue id>R<key>.<host>,S=<size>[,W=<vsize>]: vsize is
 * the size with CRLF line ends, which Dovecot and the store read as the
 * IMAP RFC822.SIZE without opening the file. A valid unique name
 * (cr.yp.to/proto/maildir.html): the middle part is unique on this host
 * because the queue id is, and the key is unique within the message. The same
 * delivery of the same content always gets the same name.
 */
export function deliveryName(
  id: DeliveryId,
  size: number,
  hostname: string,
  vsize?: number,
): string {
  if (!/^[0-9A-Za-z]+$/.test(id.queueId) || !/^[0-9a-z-]+$/.test(id.key)) {
    throw new RangeError(`maildir: bad delivery id Q${id.queueId}R${id.key}`);
  }
  const sec = Math.floor(id.arrivalMs / 1000);
  const w = vsize === undefined ? "" : `,W=${vsize}`;
  return `${sec}.Q${id.queueId}R${id.key}.${safeHostname(hostname)},S=${size}${w}`;
}

/** Every "2,<flags>" info a reader may give a file moved to cur/: subsets of DFPRST, in ASCII order. */
const CUR_INFOS: readonly string[] = Array.from(
  { length: 64 },
  (_, mask) => ":2," + [..."DFPRST"].filter((_, bit) => mask & (1 << bit)).join(""),
);

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return false;
    throw e;
  }
}

/**
 * Where an earlier attempt left `name`: new/, or with `inCur` also cur/
 * under one of the 64 standard flag sets (64 lstat calls, whatever the size of
 * cur/). Not found: a copy a reader renamed otherwise (keyword flags, other
 * fields added to the name) or already deleted.
 */
async function findDelivered(
  dir: string,
  name: string,
  inCur: boolean,
): Promise<string | undefined> {
  const inNew = join(dir, "new", name);
  if (await exists(inNew)) return inNew;
  if (!inCur) return undefined;
  const candidates = CUR_INFOS.map((info) => join(dir, "cur", name + info));
  const found = await Promise.all(candidates.map(exists));
  return candidates[found.indexOf(true)];
}

export interface OnceOptions extends MaildirOptions {
  /**
   * An earlier attempt may have delivered this (a retry, or a message a crash
   * left active): look in cur/ as well, where a reader may have moved the
   * file. new/ is always looked at (one lstat).
   */
  redelivery?: boolean;
}

export interface MaildirDelivery {
  /** The message file. */
  path: string;
  /** It was there already: an earlier attempt had delivered it; nothing was written. */
  existed: boolean;
}

/**
 * deliverToMaildir() for a delivery that may be repeated (a crash between
 * the link into new/ and the queue recording the recipient as done): the
 * file is named after `id`, and when it is found the delivery is not written
 * again. The size limit is checked first, as for any delivery.
 */
export async function deliverOnceToMaildir(
  dir: string,
  content: Uint8Array,
  id: DeliveryId,
  options: OnceOptions = {},
): Promise<MaildirDelivery> {
  const data = mailboxData(content, options.sizeLimit);
  const name = deliveryName(id, data.length, options.hostname ?? hostName(), virtualSize(data));
  // A first attempt needs no look: link(2) into new/ fails with EEXIST below if the name is there.
  const earlier = options.redelivery ? await findDelivered(dir, name, true) : undefined;
  if (earlier) {
    // The crash may have come before the directory was synced: make the entry durable now,
    // and drop the tmp/ name a crash between link and unlink left.
    await syncDirectory(dirname(earlier));
    await Deno.remove(join(dir, "tmp", name)).catch(() => {});
    return { path: earlier, existed: true };
  }
  try {
    const path = await withMaildir(
      dir,
      options.owner,
      () => writeAndLink(dir, name, data, options.owner, true),
    );
    return { path, existed: false };
  } catch (e) {
    // link(2): EEXIST. Only this delivery makes this name: it completed meanwhile.
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    const path = join(dir, "new", name);
    await syncDirectory(dirname(path));
    return { path, existed: true };
  }
}
