/**
 * Maildir++ folder layout (Courier's maildir++ spec, Dovecot's default
 * LAYOUT=maildir++): INBOX is the root Maildir, folder "A.B" is the
 * directory ".A.B" (names in modified UTF-7, as Dovecot writes them), with a
 * "maildirfolder" file. The hierarchy separator is ".". Subscriptions are
 * Dovecot's "subscriptions" file.
 */
import { join } from "node:path";
import { decodeMutf7, encodeMutf7 } from "./mutf7.ts";

export const SEPARATOR = ".";
export const SUBSCRIPTIONS_FILE = "subscriptions";

/** A name the store refuses, with the reason (IMAP: NO [CANNOT]). */
export class MailboxNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MailboxNameError";
  }
}

/** "inbox" in any case is INBOX (RFC 3501 5.1), also as the first level of a longer name. */
export function canonicalName(name: string): string {
  if (name.toUpperCase() === "INBOX") return "INBOX";
  if (name.slice(0, 6).toUpperCase() === "INBOX.") return "INBOX" + name.slice(5);
  return name;
}

/**
 * Checks a folder name (UTF-8, "." separated): no empty level (no leading,
 * trailing or doubled "."), no "/" (a path), no control characters, no
 * level that is a path trick, at most 255 bytes on disk.
 */
export function checkName(name: string): string {
  const canonical = canonicalName(name);
  if (canonical === "") throw new MailboxNameError("empty mailbox name");
  if (/[\x00-\x1f\x7f/]/.test(canonical)) {
    throw new MailboxNameError(`mailbox name "${name}" has a "/" or a control character`);
  }
  const levels = canonical.split(SEPARATOR);
  if (levels.some((l) => l === "")) {
    throw new MailboxNameError(`mailbox name "${name}" has an empty hierarchy level`);
  }
  if (levels.some((l) => l === "~" || l.startsWith("~"))) {
    throw new MailboxNameError(`mailbox name "${name}" has a level starting with "~"`);
  }
  if (new TextEncoder().encode(encodeMutf7(canonical)).length > 254) {
    throw new MailboxNameError(`mailbox name "${name}" is too long`);
  }
  return canonical;
}

/** The directory of a folder: the root for INBOX, root/.<mUTF-7 name> otherwise. */
export function folderDir(root: string, name: string): string {
  const canonical = checkName(name);
  return canonical === "INBOX" ? root : join(root, "." + encodeMutf7(canonical));
}

/** The folder name of a root entry ".X": undefined for entries that are not folders. */
export function folderName(entry: string): string | undefined {
  if (!entry.startsWith(".") || entry === "." || entry === "..") return undefined;
  try {
    const name = decodeMutf7(entry.slice(1));
    checkName(name);
    return name;
  } catch {
    return undefined; // not a name Dovecot or facteur would create
  }
}

/** RFC 6154 special-use attributes, given by name as Dovecot's default config does. */
const SPECIAL_USE: Readonly<Record<string, string>> = {
  sent: "\\Sent",
  "sent messages": "\\Sent",
  "sent items": "\\Sent",
  drafts: "\\Drafts",
  trash: "\\Trash",
  "deleted messages": "\\Trash",
  "deleted items": "\\Trash",
  junk: "\\Junk",
  spam: "\\Junk",
  archive: "\\Archive",
  archives: "\\Archive",
};

export function specialUse(name: string): string | undefined {
  return SPECIAL_USE[name.toLowerCase()];
}

/** The folders created for a new store (issue 7: SPECIAL-USE mailboxes by default). */
export const DEFAULT_FOLDERS: readonly string[] = ["Drafts", "Sent", "Trash", "Junk", "Archive"];

/**
 * Dovecot 2.3 subscriptions file: "V\t2\n\n", then one name per line with
 * the hierarchy separator written as TAB, names in modified UTF-7. Version 1
 * (no header) is a name per line with the separator as is.
 */
export function parseSubscriptions(text: string): string[] {
  const lines = text.split("\n");
  const v2 = lines[0] === "V\t2";
  const names = (v2 ? lines.slice(2) : lines).filter((l) => l !== "");
  const out: string[] = [];
  for (const line of names) {
    try {
      out.push(canonicalName(decodeMutf7(v2 ? line.replaceAll("\t", SEPARATOR) : line)));
    } catch {
      // unreadable line: dropped
    }
  }
  return [...new Set(out)];
}

export function formatSubscriptions(names: Iterable<string>): string {
  const lines = [...new Set(names)].map((n) => encodeMutf7(n).replaceAll(SEPARATOR, "\t"));
  return "V\t2\n\n" + lines.map((l) => l + "\n").join("");
}
