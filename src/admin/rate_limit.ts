/**
 * Failed authentications per client address: after `limit` failures within
 * `windowMs` of the first, the address is refused (429) until that window
 * ends, whatever it presents. Memory is bounded: expired entries are dropped,
 * and beyond `maxAddresses` the longest-tracked address is forgotten.
 */

interface Window {
  start: number;
  failures: number;
}

export interface FailurePolicy {
  /** Failures allowed per window; 0 = never refuse. */
  limit: number;
  windowMs: number;
}

export class FailureLimiter {
  readonly #windows = new Map<string, Window>();
  readonly #maxAddresses: number;

  constructor(maxAddresses = 10_000) {
    this.#maxAddresses = maxAddresses;
  }

  /** Addresses tracked now (for tests of the bound). */
  get size(): number {
    return this.#windows.size;
  }

  /** Milliseconds until `address` may try again; 0 = it may now. */
  blockedFor(address: string, now: number, policy: FailurePolicy): number {
    const w = this.#current(address, now, policy);
    if (!w || policy.limit <= 0 || w.failures < policy.limit) return 0;
    return w.start + policy.windowMs - now;
  }

  /** Counts one failure for `address`. */
  fail(address: string, now: number, policy: FailurePolicy): void {
    const w = this.#current(address, now, policy);
    if (w) {
      w.failures++;
      return;
    }
    this.#windows.set(address, { start: now, failures: 1 });
    if (this.#windows.size > this.#maxAddresses) this.#shrink(now, policy);
  }

  /** The address's window if it is still running (an ended one is dropped). */
  #current(address: string, now: number, policy: FailurePolicy): Window | undefined {
    const w = this.#windows.get(address);
    if (w && now - w.start >= policy.windowMs) {
      this.#windows.delete(address);
      return undefined;
    }
    return w;
  }

  #shrink(now: number, policy: FailurePolicy): void {
    for (const [address, w] of this.#windows) {
      if (now - w.start >= policy.windowMs) this.#windows.delete(address);
    }
    // Still full of live windows: forget the oldest (Map keeps insertion order).
    for (const address of this.#windows.keys()) {
      if (this.#windows.size <= this.#maxAddresses) break;
      this.#windows.delete(address);
    }
  }
}
