/**
 * What went wrong in the users store, as a kind the CLI (exit status) and
 * the admin API (HTTP status) can map without parsing messages.
 */

export type UsersErrorKind =
  /** Bad syntax: address, domain, quota, path, password. */
  | "invalid"
  /** The user, domain or alias does not exist. */
  | "not_found"
  /** It exists already, or a constraint refuses the change (domain still has users). */
  | "conflict";

export class UsersError extends Error {
  readonly kind: UsersErrorKind;

  constructor(kind: UsersErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsersError";
    this.kind = kind;
  }
}
