/**
 * Maildir++ quota (Courier's maildirquota(7), also Dovecot's quota=maildir
 * backend): the root's "maildirsize" file. Line 1 is the limit
 * ("<bytes>S,<count>C"); each further line "<bytes> <count>" is a change,
 * the first one the totals at the last recount. Writers append one line
 * with a single O_APPEND write; past 5120 bytes the file is recounted.
 */
import { join } from "node:path";
import { MailError } from "../errors.ts";
import { listNames, readTextIfExists, writeFileAtomic } from "./fsutil.ts";
import { folderName } from "./folders.ts";
import { parseName } from "./filename.ts";

export const MAILDIRSIZE_FILE = "maildirsize";
/** maildirquota(7): recount when the file grows past this. */
const RECOUNT_SIZE = 5120;

export interface QuotaLimit {
  /** Storage limit in bytes; 0 or absent: none. */
  bytes?: number;
  /** Message count limit; 0 or absent: none. */
  messages?: number;
}

export interface QuotaUsage {
  bytes: number;
  messages: number;
}

export interface Maildirsize {
  limit: QuotaLimit;
  usage: QuotaUsage;
  /** The file's size in bytes. */
  fileSize: number;
}

/** The IMAP side of a refusal: RFC 9208 [OVERQUOTA]; SMTP side: 552 5.2.2 (RFC 3463 mailbox full). */
export class QuotaExceededError extends MailError {
  readonly imapCode = "OVERQUOTA";
  constructor(message = "Quota exceeded (mailbox for user is full)") {
    super(552, "5.2.2", message);
    this.name = "QuotaExceededError";
  }
}

export function formatLimit(limit: QuotaLimit): string {
  const parts: string[] = [];
  if (limit.bytes) parts.push(`${limit.bytes}S`);
  if (limit.messages) parts.push(`${limit.messages}C`);
  return parts.length ? parts.join(",") : "0S";
}

export function parseLimit(line: string): QuotaLimit {
  const limit: QuotaLimit = {};
  for (const part of line.split(",")) {
    const m = /^(\d+)([SC])$/.exec(part.trim());
    if (!m) continue;
    if (m[2] === "S") limit.bytes = Number(m[1]);
    else limit.messages = Number(m[1]);
  }
  return limit;
}

export function parseMaildirsize(text: string): Maildirsize {
  const lines = text.split("\n");
  const usage = { bytes: 0, messages: 0 };
  for (const line of lines.slice(1)) {
    const m = /^\s*(-?\d+)\s+(-?\d+)\s*$/.exec(line);
    if (!m) continue;
    usage.bytes += Number(m[1]);
    usage.messages += Number(m[2]);
  }
  return {
    limit: parseLimit(lines[0] ?? ""),
    usage,
    fileSize: new TextEncoder().encode(text).length,
  };
}

/** Would adding `bytes` in `messages` messages go over? (Dovecot: a limit of 0 is no limit.) */
export function overQuota(limit: QuotaLimit, usage: QuotaUsage, bytes: number, messages: number) {
  if (limit.bytes && usage.bytes + bytes > limit.bytes && bytes > 0) return true;
  if (limit.messages && usage.messages + messages > limit.messages && messages > 0) return true;
  return false;
}

export async function readMaildirsize(root: string): Promise<Maildirsize | undefined> {
  const text = await readTextIfExists(join(root, MAILDIRSIZE_FILE));
  return text === undefined ? undefined : parseMaildirsize(text);
}

/** Appends one change line (maildirquota(7): a single write on an O_APPEND descriptor). */
export async function appendMaildirsize(root: string, bytes: number, messages: number) {
  const file = await Deno.open(join(root, MAILDIRSIZE_FILE), { append: true });
  try {
    await file.write(new TextEncoder().encode(`${bytes} ${messages}\n`));
  } finally {
    file.close();
  }
}

/** Size and count of the messages of every folder, from ,S= or stat (Dovecot counts every folder). */
export async function countMaildir(root: string): Promise<QuotaUsage> {
  const dirs = [root];
  for (const entry of await listNames(root)) {
    if (folderName(entry) !== undefined) dirs.push(join(root, entry));
  }
  const usage = { bytes: 0, messages: 0 };
  for (const dir of dirs) {
    for (const sub of ["new", "cur"]) {
      for (const name of await listNames(join(dir, sub))) {
        if (name.startsWith(".")) continue;
        let size = parseName(name).size;
        if (size === undefined) {
          try {
            size = (await Deno.stat(join(dir, sub, name))).size;
          } catch {
            continue; // gone meanwhile
          }
        }
        usage.bytes += size;
        usage.messages++;
      }
    }
  }
  return usage;
}

/** Recounts and rewrites maildirsize with `limit` (tmp + rename, as maildirquota(7) says). */
export async function rewriteMaildirsize(root: string, limit: QuotaLimit): Promise<Maildirsize> {
  const usage = await countMaildir(root);
  const text = `${formatLimit(limit)}\n${usage.bytes} ${usage.messages}\n`;
  await writeFileAtomic(join(root, MAILDIRSIZE_FILE), text);
  return parseMaildirsize(text);
}

/** maildirsize, recounted first when it grew too big. undefined: no quota file. */
export async function currentMaildirsize(root: string): Promise<Maildirsize | undefined> {
  const size = await readMaildirsize(root);
  if (size && size.fileSize > RECOUNT_SIZE) return await rewriteMaildirsize(root, size.limit);
  return size;
}
