/** What the users store gives out: never a password, not even its hash. */

export interface Account {
  /** "local@domain", lower-cased. */
  address: string;
  local: string;
  domain: string;
  /** Bytes; 0 = no per-user quota. */
  quota: number;
  enabled: boolean;
  /** Relative to virtual_mailbox_base; a trailing "/" means Maildir (virtual(8)). */
  maildir: string;
  /** The stored password's scheme ("ARGON2ID", "SHA512-CRYPT"...), undefined when there is none. */
  passwordScheme?: string;
  /** ms epoch */
  created: number;
  updated: number;
}

export interface Domain {
  name: string;
  note: string;
  /** How many users it holds. */
  users: number;
  created: number;
}

export interface Alias {
  /** "local@domain" or "@domain" (catch-all). */
  address: string;
  targets: string[];
  created: number;
  updated: number;
}

export interface NewUser {
  /** Plain text: hashed with hashPassword() (Argon2id). */
  password?: string;
  /** An existing "{SCHEME}..." value kept as is (imports). */
  passwordHash?: string;
  /** Bytes, or a size such as "1G". */
  quota?: number | string;
  /** Default: the mailbox template ("%d/%n/"). */
  maildir?: string;
  enabled?: boolean;
}

export interface UserChanges {
  password?: string;
  quota?: number | string;
  enabled?: boolean;
  maildir?: string;
}

export interface UserFilter {
  /** Only users of this domain. */
  domain?: string;
  /** Addresses after this one (the previous page's last address). */
  cursor?: string;
  /** At most this many (default: all). */
  limit?: number;
}

export interface UserPage {
  users: Account[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  next?: string;
}

export interface ImportResult {
  imported: number;
  /** Users that exist already: left as they are. */
  skipped: number;
  errors: { line: number; message: string }[];
}
