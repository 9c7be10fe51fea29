/**
 * Slowing of failed logins (issue 6: "failed logins are slowed per client
 * address and per account; a locked-out attacker cannot slow legitimate users
 * of other accounts"). Pure state; the caller waits delayFor() ms before
 * answering, then records the outcome.
 *
 * Policy. Three failure counters, each forgotten `windowMs` after its last failure:
 * - per (client, account) pair: slows guessing one account from one address
 *   at once (after 1 free failure: a typo costs nothing);
 * - per client: slows one address trying many accounts (after 5 free failures);
 * - per account: slows many addresses trying one account (after 10 free
 *   failures, with a lower cap, since its owner on a new address feels it too).
 * Each gives base * 2^(failures - free), capped; the delay is the largest. Like
 * Dovecot's auth penalty (anvil: doubling, capped), but not per address only.
 *
 * A success resets only its pair counter (resetting the client counter would
 * let an attacker with one valid account clear his own penalty) and makes the
 * pair trusted for `trustMs`: a trusted pair skips the client and account
 * counters, so a user who has logged in from an address before is not slowed
 * by an attack on his account from elsewhere, nor by another account's
 * attacker sharing his address (NAT). Its own pair counter still applies.
 * A user of another account from another address matches no counter: delay 0.
 *
 * Keys: accounts are compared case-insensitively; IPv6 clients are grouped
 * by /64 (one host usually holds a whole /64). Memory is bounded: at most
 * `maxKeys` counters and trusted pairs each, least recently used evicted first.
 */

export interface CounterPolicy {
  /** Failures that cost nothing. */
  free: number;
  /** Delay after the first failure beyond `free`, in ms; doubles with each further one. */
  baseMs: number;
  /** Largest delay, in ms. */
  capMs: number;
}

export interface ThrottlePolicy {
  pair: CounterPolicy;
  client: CounterPolicy;
  account: CounterPolicy;
  /** A counter is forgotten this long after its last failure. */
  windowMs: number;
  /** How long a successful (client, account) pair stays trusted. */
  trustMs: number;
  /** Upper bound on counters and on trusted pairs (each). */
  maxKeys: number;
}

export const DEFAULT_THROTTLE_POLICY: Readonly<ThrottlePolicy> = Object.freeze({
  pair: { free: 1, baseMs: 1_000, capMs: 30_000 },
  client: { free: 5, baseMs: 1_000, capMs: 30_000 },
  account: { free: 10, baseMs: 1_000, capMs: 10_000 },
  windowMs: 15 * 60_000,
  trustMs: 30 * 24 * 3_600_000,
  maxKeys: 100_000,
});

interface Counter {
  failures: number;
  last: number;
}

export class LoginThrottle {
  readonly policy: ThrottlePolicy;
  readonly #now: () => number;
  readonly #counters = new Map<string, Counter>();
  readonly #trusted = new Map<string, number>();

  constructor(options: { policy?: Partial<ThrottlePolicy>; now?: () => number } = {}) {
    this.policy = { ...DEFAULT_THROTTLE_POLICY, ...options.policy };
    this.#now = options.now ?? Date.now;
  }

  /** Milliseconds to wait before answering this login attempt. */
  delayFor(client: string, account: string): number {
    const keys = this.#keys(client, account);
    let delay = this.#delay(keys.pair, this.policy.pair);
    if (!this.#isTrusted(keys.pair)) {
      delay = Math.max(
        delay,
        this.#delay(keys.client, this.policy.client),
        this.#delay(keys.account, this.policy.account),
      );
    }
    return delay;
  }

  recordFailure(client: string, account: string): void {
    const keys = this.#keys(client, account);
    for (const key of [keys.pair, keys.client, keys.account]) this.#bump(key);
  }

  recordSuccess(client: string, account: string): void {
    const { pair } = this.#keys(client, account);
    this.#counters.delete(pair);
    this.#trusted.delete(pair);
    this.#trusted.set(pair, this.#now() + this.policy.trustMs);
    evictOldest(this.#trusted, this.policy.maxKeys);
  }

  /** Tracked counters plus trusted pairs (for monitoring and the memory bound). */
  get size(): number {
    return this.#counters.size + this.#trusted.size;
  }

  #keys(client: string, account: string) {
    const c = clientKey(client);
    const a = account.toLowerCase();
    return { pair: `p ${c} ${a}`, client: `c ${c}`, account: `a ${a}` };
  }

  #live(key: string): Counter | undefined {
    const counter = this.#counters.get(key);
    if (counter && this.#now() - counter.last > this.policy.windowMs) {
      this.#counters.delete(key);
      return undefined;
    }
    return counter;
  }

  #delay(key: string, policy: CounterPolicy): number {
    const failures = this.#live(key)?.failures ?? 0;
    if (failures <= policy.free) return 0;
    const exponent = Math.min(failures - policy.free - 1, 30);
    return Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  }

  #bump(key: string): void {
    const failures = (this.#live(key)?.failures ?? 0) + 1;
    this.#counters.delete(key); // re-insert: Map order is least recently used first
    this.#counters.set(key, { failures, last: this.#now() });
    evictOldest(this.#counters, this.policy.maxKeys);
  }

  #isTrusted(pair: string): boolean {
    const until = this.#trusted.get(pair);
    if (until === undefined) return false;
    if (until < this.#now()) {
      this.#trusted.delete(pair);
      return false;
    }
    return true;
  }
}

function evictOldest<V>(map: Map<string, V>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}

/** The address a counter is kept for: IPv4 as is, IPv6 by its /64 prefix. */
export function clientKey(address: string): string {
  const bare = address.replace(/^\[|\]$/g, "").split("%")[0].toLowerCase();
  if (!bare.includes(":")) return bare;
  if (/^::ffff:[0-9.]+$/.test(bare)) return bare.slice(7); // IPv4-mapped
  const [head, tail = ""] = bare.split("::");
  const left = head ? head.split(":") : [];
  const right = bare.includes("::") && tail ? tail.split(":") : [];
  const groups = bare.includes("::")
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":") + "::/64";
}
