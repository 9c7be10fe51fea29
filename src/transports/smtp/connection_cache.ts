/**
 * The smtp(8) connection cache (Postfix scache(8), used on demand): after
 * a delivery, an open session is parked by destination instead of saying
 * QUIT; the next delivery to that destination takes it and sends RSET.
 *
 * postconf(5): a parked session waits at most smtp_connection_cache_time_limit;
 * a session is reused for at most smtp_connection_reuse_time_limit since it
 * was opened and smtp_connection_reuse_count_limit deliveries (0 = no limit).
 * Parked sessions are not deliveries in progress: like Postfix's qmgr, the
 * destination concurrency limit counts only active deliveries.
 */
import type { SmtpSession } from "./client.ts";

export interface CacheLimits {
  /** smtp_connection_cache_time_limit, in ms. */
  idleMs: number;
  /** smtp_connection_reuse_time_limit, in ms. */
  reuseMs: number;
  /** smtp_connection_reuse_count_limit; 0 = unlimited. */
  reuseCount: number;
}

/** A session with its history: when it was opened, how many deliveries it made. */
export interface CachedSession {
  session: SmtpSession;
  openedAt: number;
  uses: number;
}

interface Parked {
  entry: CachedSession;
  timer: ReturnType<typeof setTimeout>;
}

/** May a session with this history carry one more delivery? (postconf(5) reuse limits) */
export function mayReuse(entry: Omit<CachedSession, "session">, now: number, l: CacheLimits) {
  if (now - entry.openedAt >= l.reuseMs) return false;
  return l.reuseCount <= 0 || entry.uses < l.reuseCount;
}

export class ConnectionCache {
  readonly #limits: CacheLimits;
  readonly #now: () => number;
  readonly #parked = new Map<string, Parked[]>();
  #closed = false;
  readonly #closing = new Set<Promise<void>>();

  constructor(limits: CacheLimits, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  /** Parked sessions, all destinations (for tests and logs). */
  get size(): number {
    let n = 0;
    for (const list of this.#parked.values()) n += list.length;
    return n;
  }

  /**
   * A parked session for `key` that is still connected, or undefined. Ones
   * the server closed meanwhile are discarded.
   */
  take(key: string): CachedSession | undefined {
    const list = this.#parked.get(key);
    while (list && list.length > 0) {
      const { entry, timer } = list.pop()!;
      clearTimeout(timer);
      if (list.length === 0) this.#parked.delete(key);
      if (entry.session.open) return entry;
      this.#quit(entry.session);
    }
    return undefined;
  }

  /** Parks a session after a delivery, or closes it when it may not carry another. */
  async park(key: string, entry: CachedSession): Promise<void> {
    if (this.#closed || !entry.session.open || !mayReuse(entry, this.#now(), this.#limits)) {
      await entry.session.close();
      return;
    }
    const parked: Parked = {
      entry,
      timer: setTimeout(() => this.#expire(key, parked), this.#limits.idleMs),
    };
    const list = this.#parked.get(key) ?? [];
    list.push(parked);
    this.#parked.set(key, list);
  }

  /** QUITs every parked session (server stop, reload); later sessions are not parked. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const [key, list] of this.#parked) {
      this.#parked.delete(key);
      for (const { entry, timer } of list) {
        clearTimeout(timer);
        this.#quit(entry.session);
      }
    }
    await Promise.all(this.#closing);
  }

  #expire(key: string, parked: Parked): void {
    const list = this.#parked.get(key);
    const i = list?.indexOf(parked) ?? -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.#parked.delete(key);
    this.#quit(parked.entry.session);
  }

  /** Closes in the background; close() waits for those still going. */
  #quit(session: SmtpSession): void {
    const done = session.close().catch(() => {}).finally(() => this.#closing.delete(done));
    this.#closing.add(done);
  }
}
