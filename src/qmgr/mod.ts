/**
 * A simple queue manager (qmgr(8), without its scheduler yet): claim due
 * messages, resolve each unfinished recipient to transport:nexthop, hand
 * each group to its transport, record the results, and retry deferred mail
 * with exponential backoff until maximal_queue_lifetime. A message is never
 * dropped: a transport that does not exist (yet) defers its recipients.
 */
import type { Config } from "../config/mod.ts";
import { MailError } from "../errors.ts";
import type { Logger } from "../log.ts";
import {
  type QueuedMessage,
  type QueuedRecipient,
  QueueNotFoundError,
  type QueueStore,
  type RecipientResult,
} from "../queue/types.ts";
import type { Resolution } from "../rewrite/types.ts";
import type { DeliveryRecipient, Transport } from "../transports/types.ts";
import {
  backoffMs,
  errorTransportResult,
  expire,
  logLine,
  softBounce,
  type Timing,
} from "./outcome.ts";

export {
  backoffMs,
  errorTransportResult,
  expire,
  formatDelay,
  logLine,
  softBounce,
} from "./outcome.ts";

export interface DeliveryLoopOptions {
  config: Config;
  queue: QueueStore;
  rewrite: { resolve(address: string): Promise<Resolution> };
  /** By master.cf service name: "local", "virtual", ... */
  transports: Record<string, Transport>;
  log?: Logger;
  /** ms since the epoch; default Date.now. */
  clock?: () => number;
  /** Messages claimed at a time; default 100. */
  batchSize?: number;
}

interface Group {
  transport: string;
  nexthop: string;
  recipients: DeliveryRecipient[];
}

const UNFINISHED = new Set(["pending", "deferred"]);

export class DeliveryLoop {
  readonly #queue: QueueStore;
  readonly #rewrite: DeliveryLoopOptions["rewrite"];
  readonly #transports: Record<string, Transport>;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #batchSize: number;
  readonly #settings: {
    runDelayMs: number;
    minBackoff: number;
    maxBackoff: number;
    lifetime: number;
    bounceLifetime: number;
    softBounce: boolean;
  };
  #running = false;
  #done?: Promise<void>;
  #kicked = false;
  #wake?: () => void;
  /** Earliest retry time set during the last run: sleep no longer than that. */
  #nextDue = Infinity;

  constructor(options: DeliveryLoopOptions) {
    const { config } = options;
    this.#queue = options.queue;
    this.#rewrite = options.rewrite;
    this.#transports = options.transports;
    this.#log = options.log ?? (() => {});
    this.#clock = options.clock ?? Date.now;
    this.#batchSize = options.batchSize ?? 100;
    this.#settings = {
      runDelayMs: config.time("queue_run_delay") * 1000,
      minBackoff: config.time("minimal_backoff_time"),
      maxBackoff: config.time("maximal_backoff_time"),
      lifetime: config.time("maximal_queue_lifetime"),
      bounceLifetime: config.time("bounce_queue_lifetime"),
      softBounce: config.bool("soft_bounce"),
    };
  }

  /** Recovers messages a crash left active, then runs until stop(). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#done = this.#loop();
  }

  /** Stops after the message in hand; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#done;
  }

  /** New mail: look at the queue now rather than at the next scheduled run. */
  kick(): void {
    this.#kicked = true;
    this.#wake?.();
  }

  /** Delivers everything due now, once; resolves to the number of messages handled. */
  async runOnce(): Promise<number> {
    let handled = 0;
    this.#nextDue = Infinity;
    for (;;) {
      const batch = await this.#queue.claimDue(this.#clock(), this.#batchSize);
      for (const message of batch) {
        await this.#deliverMessage(message);
        handled++;
      }
      if (batch.length < this.#batchSize) return handled;
    }
  }

  async #loop(): Promise<void> {
    try {
      const recovered = await this.#queue.recoverActive();
      if (recovered > 0) {
        this.#log(`recovered ${recovered} message(s) left active by a previous run`);
      }
    } catch (e) {
      this.#log(`warning: cannot recover active messages: ${(e as Error).message}`);
    }
    while (this.#running) {
      this.#kicked = false;
      try {
        await this.runOnce();
      } catch (e) {
        this.#log(`warning: queue run failed: ${(e as Error).message}`);
      }
      if (!this.#running) break;
      if (!this.#kicked) await this.#sleep(this.#waitMs());
    }
  }

  #waitMs(): number {
    const untilDue = this.#nextDue - this.#clock();
    return Math.max(0, Math.min(this.#settings.runDelayMs, untilDue));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }

  async #deliverMessage(message: QueuedMessage): Promise<void> {
    const claimed = this.#clock();
    // (Envelope & {recipients: QueuedRecipient[]}) intersects the array types; name the real one.
    const recipients: QueuedRecipient[] = message.envelope.recipients;
    const pending = recipients.filter((r) => UNFINISHED.has(r.status));
    let content: Uint8Array;
    try {
      content = await this.#queue.content(message.id);
    } catch (e) {
      if (e instanceof QueueNotFoundError) return; // removed meanwhile (postsuper -d)
      const results = pending.map((r) => ({
        index: r.index,
        status: "deferred" as const,
        dsn: "4.3.0",
        reason: `cannot read the queued message: ${(e as Error).message}`,
        relay: "none",
      }));
      return await this.#finish(message, pending, results, new Map(), claimed);
    }

    const results: RecipientResult[] = [];
    const timings = new Map<number, Timing>();
    const groups = new Map<string, Group>();
    for (const r of pending) {
      let res: Resolution;
      try {
        res = await this.#rewrite.resolve(r.address);
      } catch (e) {
        results.push(resolveFailure(r.index, e));
        continue;
      }
      const key = `${res.transport}\n${res.nexthop}`;
      let group = groups.get(key);
      if (!group) {
        group = { transport: res.transport, nexthop: res.nexthop, recipients: [] };
        groups.set(key, group);
      }
      group.recipients.push({ index: r.index, address: r.address, original: r.original });
    }
    for (const group of groups.values()) {
      const handoff = this.#clock();
      const got = await this.#deliverGroup(message, content, group);
      const done = this.#clock();
      for (const result of got) {
        results.push(result);
        const agent = group.transport in this.#transports ? handoff : undefined;
        timings.set(result.index, {
          arrival: message.envelope.arrivalTime,
          claimed,
          handoff: agent,
          done,
        });
      }
    }
    await this.#finish(message, pending, results, timings, claimed);
  }

  /** One result per recipient of the group, whatever the transport does. */
  async #deliverGroup(
    message: QueuedMessage,
    content: Uint8Array,
    group: Group,
  ): Promise<RecipientResult[]> {
    const transport = this.#transports[group.transport];
    if (!transport) {
      if (group.transport === "error") {
        return group.recipients.map((r) => errorTransportResult(r.index, group.nexthop));
      }
      return group.recipients.map((r) => ({
        index: r.index,
        status: "deferred",
        dsn: "4.3.0",
        reason: `mail transport unavailable: no "${group.transport}" transport in this facteur`,
        relay: "none",
      }));
    }
    let got: RecipientResult[];
    try {
      got = await transport.deliver({
        queueId: message.id,
        envelope: message.envelope,
        recipients: group.recipients,
        content,
        nexthop: group.nexthop,
      });
    } catch (e) {
      got = [];
      this.#log(
        `warning: ${message.id}: transport ${group.transport} failed: ${(e as Error).message}`,
      );
    }
    const byIndex = new Map(got.map((r) => [r.index, r]));
    return group.recipients.map((r) =>
      byIndex.get(r.index) ?? {
        index: r.index,
        status: "deferred",
        dsn: "4.3.0",
        reason: `${group.transport} transport gave no result for this recipient`,
        relay: group.transport,
      }
    );
  }

  async #finish(
    message: QueuedMessage,
    pending: QueuedRecipient[],
    raw: RecipientResult[],
    timings: Map<number, Timing>,
    claimed: number,
  ): Promise<void> {
    const now = this.#clock();
    const age = now - message.envelope.arrivalTime;
    const lifetime = message.envelope.sender === ""
      ? this.#settings.bounceLifetime
      : this.#settings.lifetime;
    const byIndex = new Map(pending.map((r) => [r.index, r]));
    const results = raw.map((r) => {
      const expired = expire(r, age, lifetime);
      const final = this.#settings.softBounce ? softBounce(expired) : expired;
      const status = expired !== r && final.status === "bounced" ? "expired" : final.status;
      const recipient = byIndex.get(r.index)!;
      const timing = timings.get(r.index) ??
        { arrival: message.envelope.arrivalTime, claimed, done: now };
      this.#log(logLine(message.id, recipient, final, timing, status));
      return final;
    });
    const next = now +
      backoffMs(message.attempts, this.#settings.minBackoff, this.#settings.maxBackoff);
    if (results.some((r) => r.status === "deferred")) this.#nextDue = Math.min(this.#nextDue, next);
    try {
      await this.#queue.recordAttempt(message.id, results, next);
    } catch (e) {
      // The message stays active until the next start (recoverActive): at-least-once.
      this.#log(`warning: ${message.id}: cannot record delivery results: ${(e as Error).message}`);
    }
  }
}

/** A recipient that cannot be resolved: permanent errors bounce, others defer. */
function resolveFailure(index: number, e: unknown): RecipientResult {
  if (e instanceof MailError && !e.temporary) {
    return { index, status: "bounced", dsn: e.enhanced, reason: e.message, relay: "none" };
  }
  return {
    index,
    status: "deferred",
    dsn: "4.3.0",
    reason: `address resolver failure: ${(e as Error).message}`,
    relay: "none",
  };
}
