/**
 * What the POP3 server needs from the rest of facteur: a way to check
 * credentials and to open an account's INBOX. The mailstore and the users
 * store are adapted to these interfaces where the service is wired.
 */
import type { LoginThrottle } from "../auth/throttle.ts";
import type { Pop3dSettings } from "./settings.ts";

export interface Pop3Message {
  /** RFC 1939 7: 1 to 70 characters in 0x21..0x7E, stable across sessions. */
  uidl: string;
  /** Octets as sent: with CRLF line ends, before dot-stuffing (RFC 1939 5 LIST). */
  size: number;
}

export interface Pop3Maildrop {
  /** Snapshot at login: messages delivered later are not shown in this session. */
  messages: readonly Pop3Message[];
  /** The stored bytes (may have bare LF: normalised to CRLF when sent). */
  read(index: number): Promise<Uint8Array>;
  /** UPDATE state at QUIT: removes these (0-based indexes into `messages`). */
  commit(deleted: readonly number[]): Promise<void>;
  /** End of session (lock released); called exactly once. */
  release(): void;
}

export interface Pop3Backend {
  /** Checks credentials; undefined = wrong user or password; throws MailError (temporary) on store failures. */
  authenticate(
    user: string,
    password: string,
    client: string,
  ): Promise<{ account: string } | undefined>;
  /** Opens and locks the account's INBOX; "in-use" when another session holds it. */
  open(account: string): Promise<Pop3Maildrop | "in-use">;
}

export interface Pop3dDeps {
  backend: Pop3Backend;
  /** Values that differ from DEFAULT_POP3D_SETTINGS (checked by startPop3Server). */
  settings?: Partial<Pop3dSettings>;
  /** Failed-login slowing shared with the other login services; a private one if absent. */
  throttle?: LoginThrottle;
  /**
   * Log lines without the program prefix (src/log.ts logger("pop3d") adds
   * "facteur/pop3d[pid]: "): "Login: user=<x>, method=USER, rip=..., lip=...".
   */
  log?: (line: string) => void;
}
