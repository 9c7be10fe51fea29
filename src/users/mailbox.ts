/**
 * A user's mailbox on disk: created with the account (as Dovecot and
 * postfixadmin setups do), and its Maildir++ quota kept in the maildirsize
 * file (maildirquota(7)) that the store's delivery and IMAP APPEND check,
 * and that Dovecot and Courier read too. A mailbox path without the final
 * "/" is an mbox file (virtual(8)): no Maildir++ quota there.
 */
import { join, normalize } from "node:path";
import { MAILDIRSIZE_FILE, rewriteMaildirsize } from "../mailstore/quota.ts";
import type { Account } from "./types.ts";

/** Creates the Maildir of `account` under `base` when missing, and writes its quota. */
export async function prepareMailbox(base: string, account: Account): Promise<void> {
  if (base === "" || !account.maildir.endsWith("/")) return;
  const root = normalize(join(base, account.maildir));
  if (!root.startsWith(base.endsWith("/") ? base : base + "/")) return; // syntax checked already
  for (const sub of ["tmp", "new", "cur"]) {
    await Deno.mkdir(join(root, sub), { recursive: true, mode: 0o700 });
  }
  if (account.quota > 0) {
    await rewriteMaildirsize(root, { bytes: account.quota });
  } else {
    // No quota: drop a limit left from before, so deliveries are not refused.
    await Deno.remove(join(root, MAILDIRSIZE_FILE)).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
}
