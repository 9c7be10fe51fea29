/**
 * The pop3d service (command = "pop3d"): facteur's users store for logins,
 * the mailstore for maildrops ($virtual_mailbox_base/<the user's mailbox>,
 * as virtual(8) delivers), and the pop3d_* parameters.
 */
import { join, normalize } from "node:path";
import type { Config } from "../config/mod.ts";
import { MailError } from "../errors.ts";
import type { LoginThrottle } from "../auth/throttle.ts";
import { isLoopback, type Pop3dDeps, pop3dSettings } from "../pop3d/mod.ts";
import { type MaildropLocks, openMaildrop } from "../pop3d/maildrop.ts";
import type { Pop3Backend } from "../pop3d/types.ts";
import { sharedUsersStore, usersStoreOptions } from "../users/mod.ts";

export interface Pop3Wiring {
  locks: MaildropLocks;
  throttle: LoginThrottle;
  log: (line: string) => void;
}

/** pop3d's dependencies from a service's view of the configuration. */
export function pop3Deps(
  view: Config,
  processLimit: number | undefined,
  wiring: Pop3Wiring,
): Pop3dDeps {
  const settings = pop3dSettings({
    greeting: view.get("pop3d_banner"),
    timeoutMs: view.time("pop3d_timeout") * 1000,
    lineLengthLimit: view.int("pop3d_line_length_limit"),
    authFailureLimit: view.int("pop3d_auth_failure_limit"),
    errorLimit: view.int("pop3d_hard_error_limit"),
    userSessionLimit: view.int("pop3d_user_session_limit"),
    clientConnectionLimit: view.int("pop3d_client_connection_count_limit"),
    processLimit: processLimit ?? view.int("default_process_limit"),
    // Dovecot's disable_plaintext_auth: TLS or loopback only, unless turned off.
    plaintextAllowed: view.bool("pop3d_disable_plaintext_auth")
      ? (client) => client.tls || isLoopback(client.address)
      : () => true,
  });
  return {
    backend: usersBackend(view, wiring.locks),
    settings,
    throttle: wiring.throttle,
    log: wiring.log,
  };
}

/** Logins against users.sqlite; each account's INBOX is its Maildir under virtual_mailbox_base. */
function usersBackend(config: Config, locks: MaildropLocks): Pop3Backend {
  const store = () => sharedUsersStore(config.path("data_directory"), usersStoreOptions(config));
  return {
    async authenticate(user, password) {
      const account = await store().authenticate(user, password);
      return account ? { account: account.address } : undefined;
    },
    async open(address) {
      const account = await store().get(address);
      if (!account) throw new MailError(451, "4.3.0", `account ${address} no longer exists`);
      return await openMaildrop(maildropRoot(config, account.maildir), locks, {
        hostname: config.get("myhostname"),
      });
    },
  };
}

/** virtual(8)'s rule: $virtual_mailbox_base/<mailbox>, never outside the base. */
export function maildropRoot(config: Config, mailbox: string): string {
  const base = config.path("virtual_mailbox_base");
  if (base === "") {
    // virtual(8) defers with 4.3.5 for the same configuration error.
    throw new MailError(
      451,
      "4.3.5",
      "virtual_mailbox_base is not set: users' mailboxes live under it",
    );
  }
  const path = normalize(join(base, mailbox));
  if (!path.startsWith(base.endsWith("/") ? base : base + "/")) {
    throw new MailError(451, "4.3.5", `mailbox "${mailbox}" is outside virtual_mailbox_base`);
  }
  return path;
}
