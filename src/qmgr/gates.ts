/**
 * qmgr(8)'s per-destination and per-transport scheduling state
 * (SCHEDULER_README, qmgr_queue.c): who may start a delivery now.
 *
 * Each key (a transport, or a transport + destination queue name) has a
 * gate: a concurrency window, the deliveries in flight, the requests
 * waiting in arrival order, and for a destination:
 * - feedback: a delivery that completes without a connection or handshake
 *   failure widens the window by the positive feedback (up to the limit,
 *   and only while more work waits than the window allows); one that fails
 *   that way narrows it by the negative feedback, never below 1;
 * - dead-destination detection: after `failedCohortLimit` pseudo-cohorts
 *   (a cohort is as many deliveries as the window) of such failures without
 *   a success, the destination is dead for `deadMs` (minimal_backoff_time):
 *   its waiting requests, and new ones, are answered at once with the
 *   failure that killed it, so nothing queues behind an unreachable site;
 * - a rate delay: one delivery at a time, `rateDelayMs` apart
 *   (postconf(5) default_destination_rate_delay, default_transport_rate_delay).
 *
 * A gate without work is forgotten (its window restarts at the initial
 * concurrency next time, as Postfix frees an empty queue), unless it is dead
 * or inside a rate delay, which must outlive the burst.
 */
import type { Feedback } from "../config/mod.ts";

export interface GatePolicy {
  /** Window at the start (initial_destination_concurrency); the window when there is no feedback. */
  initial: number;
  /** Highest window (0: no limit). */
  limit: number;
  /** Absent: the window stays at `initial` (a transport's process limit). */
  positive?: Feedback;
  negative?: Feedback;
  /** Pseudo-cohorts of failures before the destination is dead (0: never). */
  failedCohortLimit: number;
  /** How long a dead destination stays dead, in ms. */
  deadMs: number;
  /** Pause between two deliveries, in ms (0: none; else one at a time). */
  rateDelayMs: number;
}

/** How a delivery went, for the destination's feedback. */
export type DeliveryFeedback =
  | { ok: true }
  | { ok: false; dsn: string; reason: string }
  /** Nothing learned (interrupted before trying). */
  | undefined;

export type Grant =
  | { kind: "go" }
  /** The destination is dead: defer without trying, with what killed it. */
  | { kind: "dead"; dsn: string; reason: string }
  /** Shutting down. */
  | { kind: "closed" };

/** What tests and the admin view see of a gate. */
export interface GateState {
  window: number;
  busy: number;
  waiting: number;
  dead: boolean;
}

interface Gate {
  policy: GatePolicy;
  window: number;
  /** Feedback accumulated toward the next whole step of the window. */
  credit: number;
  debit: number;
  failedCohorts: number;
  busy: number;
  waiting: ((grant: Grant) => void)[];
  dead?: { dsn: string; reason: string; until: number };
  /** No delivery starts before this time (rate delay). */
  notBefore: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** A rounding guard so that N additions of 1/N reach 1. */
const EPSILON = 1e-9;

export interface GatesOptions {
  clock?: () => number;
}

export class Gates {
  readonly #gates = new Map<string, Gate>();
  readonly #clock: () => number;
  #closed = false;

  constructor(options: GatesOptions = {}) {
    this.#clock = options.clock ?? Date.now;
  }

  /** Resolves once the delivery may start ("go": give it back with release), or why not. */
  acquire(key: string, policy: GatePolicy): Promise<Grant> {
    if (this.#closed) return Promise.resolve({ kind: "closed" });
    const gate = this.#gate(key, policy);
    const refusal = this.#deadGrant(gate);
    if (refusal) return Promise.resolve(refusal);
    if (gate.waiting.length === 0 && this.#canStart(gate)) {
      this.#start(gate);
      return Promise.resolve({ kind: "go" });
    }
    const granted = new Promise<Grant>((resolve) => gate.waiting.push(resolve));
    this.#pump(key, gate);
    return granted;
  }

  /** A delivery is over: learn from how it went and let the next one start. */
  release(key: string, feedback: DeliveryFeedback): void {
    const gate = this.#gates.get(key);
    if (!gate) return;
    if (feedback?.ok) this.#succeeded(gate);
    else if (feedback) this.#failed(gate, feedback);
    gate.busy = Math.max(0, gate.busy - 1);
    if (gate.policy.rateDelayMs > 0) gate.notBefore = this.#clock() + gate.policy.rateDelayMs;
    this.#pump(key, gate);
  }

  /**
   * postqueue -f, ETRN: dead destinations come back to life now
   * (qmgr_enable_all), with their initial window.
   */
  revive(): void {
    for (const [key, gate] of this.#gates) {
      if (!gate.dead) continue;
      this.#revive(gate);
      this.#pump(key, gate);
    }
  }

  /** Refuses the waiting and every later acquire; deliveries in flight finish. */
  close(): void {
    this.#closed = true;
    for (const [key, gate] of this.#gates) {
      for (const resolve of gate.waiting.splice(0)) resolve({ kind: "closed" });
      clearTimeout(gate.timer);
      gate.timer = undefined;
      this.#forgetIfIdle(key, gate);
    }
  }

  open(): void {
    this.#closed = false;
  }

  state(key: string): GateState | undefined {
    const gate = this.#gates.get(key);
    if (!gate) return undefined;
    return {
      window: gate.window,
      busy: gate.busy,
      waiting: gate.waiting.length,
      dead: this.#isDead(gate),
    };
  }

  /** Gates remembered now (bounded by the destinations with work, dead or rate-delayed). */
  get size(): number {
    return this.#gates.size;
  }

  #gate(key: string, policy: GatePolicy): Gate {
    let gate = this.#gates.get(key);
    if (!gate) {
      gate = {
        policy,
        window: startWindow(policy),
        credit: 0,
        debit: 0,
        failedCohorts: 0,
        busy: 0,
        waiting: [],
        notBefore: 0,
      };
      this.#gates.set(key, gate);
    }
    gate.policy = policy;
    return gate;
  }

  #isDead(gate: Gate): boolean {
    return gate.dead !== undefined && gate.dead.until > this.#clock();
  }

  /** The refusal for a dead destination; a destination whose time is up lives again. */
  #deadGrant(gate: Gate): Grant | undefined {
    if (!gate.dead) return undefined;
    if (!this.#isDead(gate)) {
      this.#revive(gate);
      return undefined;
    }
    return { kind: "dead", dsn: gate.dead.dsn, reason: gate.dead.reason };
  }

  #revive(gate: Gate): void {
    gate.dead = undefined;
    gate.window = startWindow(gate.policy);
    gate.credit = gate.debit = gate.failedCohorts = 0;
  }

  #canStart(gate: Gate): boolean {
    if (gate.dead || this.#clock() < gate.notBefore) return false;
    return gate.busy < effectiveWindow(gate);
  }

  #start(gate: Gate): void {
    gate.busy++;
    // The next start waits for this delivery's end plus the delay (see release).
    if (gate.policy.rateDelayMs > 0) gate.notBefore = Infinity;
  }

  /** Starts waiting requests while the gate allows; answers them all if it died. */
  #pump(key: string, gate: Gate): void {
    const refusal = this.#deadGrant(gate);
    if (refusal) {
      for (const resolve of gate.waiting.splice(0)) resolve(refusal);
    }
    while (gate.waiting.length > 0 && this.#canStart(gate)) {
      this.#start(gate);
      gate.waiting.shift()!({ kind: "go" });
    }
    this.#armTimer(key, gate);
    this.#forgetIfIdle(key, gate);
  }

  /** Wakes the gate when its rate delay ends, if someone is waiting for that. */
  #armTimer(key: string, gate: Gate): void {
    if (gate.timer !== undefined || gate.waiting.length === 0 || this.#closed) return;
    const wait = gate.notBefore - this.#clock();
    if (wait <= 0 || !Number.isFinite(wait)) return;
    gate.timer = setTimeout(() => {
      gate.timer = undefined;
      this.#pump(key, gate);
    }, wait);
  }

  #forgetIfIdle(key: string, gate: Gate): void {
    if (gate.busy > 0 || gate.waiting.length > 0 || gate.timer !== undefined) return;
    if (gate.dead && this.#isDead(gate)) return;
    if (gate.notBefore > this.#clock() && !this.#closed) {
      // Keep the rate delay until it ends, then forget the gate.
      gate.timer = setTimeout(() => {
        gate.timer = undefined;
        this.#pump(key, gate);
      }, Math.min(gate.notBefore - this.#clock(), 2 ** 31 - 1));
      return;
    }
    this.#gates.delete(key);
  }

  /** qmgr_queue_unthrottle: a delivery went through without a site failure. */
  #succeeded(gate: Gate): void {
    const { policy } = gate;
    if (gate.dead) {
      this.#revive(gate);
      return;
    }
    gate.failedCohorts = 0;
    if (!policy.positive) return;
    const demand = gate.busy + gate.waiting.length;
    const belowLimit = policy.limit === 0 || gate.window < policy.limit;
    if (!belowLimit || gate.window >= demand) return;
    gate.credit += feedbackValue(policy.positive, gate.window);
    while (gate.credit + EPSILON >= 1) {
      gate.window++;
      gate.credit -= 1;
      gate.debit = 0;
    }
    if (policy.limit > 0) gate.window = Math.min(gate.window, policy.limit);
  }

  /** qmgr_queue_throttle: a connection or handshake failure. */
  #failed(gate: Gate, failure: { dsn: string; reason: string }): void {
    const { policy } = gate;
    if (gate.dead) return;
    gate.failedCohorts += 1 / Math.max(1, gate.window);
    if (policy.negative) {
      gate.debit += feedbackValue(policy.negative, gate.window);
      while (gate.debit + EPSILON >= 1) {
        gate.window = Math.max(1, gate.window - 1);
        gate.debit -= 1;
        gate.credit = 0;
      }
    }
    if (
      policy.failedCohortLimit > 0 && gate.failedCohorts + EPSILON >= policy.failedCohortLimit
    ) {
      gate.dead = { ...failure, until: this.#clock() + policy.deadMs };
    }
  }
}

function startWindow(policy: GatePolicy): number {
  const initial = Math.max(1, policy.initial);
  return policy.limit > 0 ? Math.min(initial, policy.limit) : initial;
}

function effectiveWindow(gate: Gate): number {
  if (gate.policy.rateDelayMs > 0) return 1;
  // No feedback and no limit: a transport without a process limit.
  if (!gate.policy.positive && gate.policy.limit === 0 && gate.policy.initial === 0) {
    return Infinity;
  }
  return Math.floor(gate.window);
}

function feedbackValue(feedback: Feedback, window: number): number {
  return feedback.perConcurrency ? feedback.value / Math.max(1, window) : feedback.value;
}
