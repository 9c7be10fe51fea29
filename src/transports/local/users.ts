/**
 * Who a local user is, for local(8) mailbox delivery: a system account from
 * the passwd file (its home, uid and gid), or a facteur user (home under
 * $local_home_base, owned by facteur itself).
 */
import { dirname, join } from "node:path";
import { parseAccountFile } from "../../maps/unix.ts";
import type { FileOwner } from "./mailbox.ts";

export interface LocalUser {
  name: string;
  home: string;
  /** System accounts: the uid/gid that should own delivered files. */
  account?: FileOwner;
}

/** getpwnam() over a passwd-format file. Undefined when there is no such account. */
export async function systemAccount(
  passwdFile: string,
  name: string,
): Promise<LocalUser | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(passwdFile);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  const entry = parseAccountFile(text, 7).get(name);
  if (!entry) return undefined;
  const [, , uid, gid, , home] = entry.split(":");
  if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid) || !home.startsWith("/")) return undefined;
  return { name, home, account: { uid: Number(uid), gid: Number(gid) } };
}

/** A facteur user: home under local_home_base. */
export function facteurUser(homeBase: string, name: string): LocalUser {
  return { name, home: join(homeBase, name) };
}

/**
 * A user name that is safe as a path component: no "/", no control
 * characters, not "." or ".." nor starting with a dot or a dash.
 */
export function isSafeUserName(name: string): boolean {
  return name !== "" && !/[/\x00-\x20\x7f]/.test(name) && !name.startsWith(".") &&
    !name.startsWith("-");
}

/**
 * facteur delivers as root and cannot switch to the user per delivery like
 * Postfix (set_eugid). Instead it only writes where the user could: the
 * deepest existing directory on the mailbox path (symbolic links resolved),
 * or the existing mailbox itself, must belong to the user. The spool
 * directory is the exception: there root creates the mailbox and chowns it
 * (local/mailbox.c). Postfix's strict_mailbox_ownership checks an existing
 * mailbox the same way. Returns a reason to refuse, or undefined.
 */
export async function ownershipProblem(
  path: string,
  account: FileOwner,
  spoolDirectory?: string,
): Promise<string | undefined> {
  if (account.uid === 0) return undefined; // root may write anywhere
  const spool = spoolDirectory === undefined ? undefined : withoutSlash(spoolDirectory);
  if (path.endsWith("/")) {
    // tmp/, new/ and cur/ are written into: no symbolic links out of the user's Maildir.
    for (const sub of ["tmp", "new", "cur"]) {
      const info = await Deno.lstat(join(path, sub)).catch(() => undefined);
      if (info && (!info.isDirectory || info.uid !== account.uid)) {
        return `${join(path, sub)} is not a directory owned by uid ${account.uid}`;
      }
    }
  }
  let probe = withoutSlash(path);
  for (;;) {
    try {
      const info = await Deno.stat(await Deno.realPath(probe));
      if (info.uid === account.uid || probe === spool) return undefined;
      return `${probe} is not owned by uid ${account.uid}`;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      const parent = dirname(probe);
      if (parent === probe) return `${path}: no existing parent directory`;
      probe = parent;
    }
  }
}

function withoutSlash(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}
