/** Logged-in sessions per account, for the per-user concurrency limit (Dovecot mail_max_userip_connections, per account). */
export class UserSessions {
  readonly #open = new Map<string, number>();

  /** Counts a session for `account` unless `limit` (0 = none) is reached; false = refused. */
  acquire(account: string, limit: number): boolean {
    const n = this.#open.get(account) ?? 0;
    if (limit > 0 && n >= limit) return false;
    this.#open.set(account, n + 1);
    return true;
  }

  release(account: string): void {
    const n = (this.#open.get(account) ?? 1) - 1;
    if (n <= 0) this.#open.delete(account);
    else this.#open.set(account, n);
  }
}
