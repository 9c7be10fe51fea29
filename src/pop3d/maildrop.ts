/**
 * A POP3 maildrop over the mailstore: a user's INBOX, locked for the
 * session (RFC 1939 8: one session per maildrop), with the Maildir base
 * names as UIDLs (stable across sessions, and what Dovecot's
 * pop3_uidl_format = %f gives, so clients keep their state when moving).
 * The message list is the snapshot taken at login: mail delivered during the
 * session shows up in the next one.
 */
import { closeMailstore, openMailstore } from "../mailstore/mod.ts";
import type { Pop3Maildrop } from "./types.ts";

/** Maildrops in use, by store root: the [IN-USE] lock of one process. */
export class MaildropLocks {
  readonly #held = new Set<string>();

  take(root: string): boolean {
    if (this.#held.has(root)) return false;
    this.#held.add(root);
    return true;
  }

  release(root: string): void {
    this.#held.delete(root);
  }
}

/** Opens the INBOX under `root` (a Maildir), or "in-use" when another session holds it. */
export async function openMaildrop(
  root: string,
  locks: MaildropLocks,
  options: { hostname?: string } = {},
): Promise<Pop3Maildrop | "in-use"> {
  if (!locks.take(root)) return "in-use";
  let store;
  try {
    store = await openMailstore(root, options);
    const inbox = await store.mailbox("INBOX");
    const list = await inbox.messages();
    let released = false;
    const opened = store;
    return {
      messages: list.map((m) => ({ uidl: m.base, size: m.rfc822Size })),
      // The path seen at login, straight from the snapshot; the store finds a file
      // renamed since (another client changed its flags).
      read: (index) =>
        Deno.readFile(list[index].path).catch((e) => {
          if (e instanceof Deno.errors.NotFound) return inbox.read(list[index].uid);
          throw e;
        }),
      // The UPDATE state (RFC 1939 6): mark, then expunge exactly those.
      commit: async (deleted) => {
        if (deleted.length === 0) return;
        const uids = deleted.map((i) => list[i].uid);
        await inbox.addFlags(uids, ["\\Deleted"]);
        await inbox.expunge(uids);
      },
      release: () => {
        if (released) return;
        released = true;
        locks.release(root);
        void closeMailstore(opened);
      },
    };
  } catch (e) {
    locks.release(root);
    if (store) await closeMailstore(store);
    throw e;
  }
}
