/**
 * The queue manager (qmgr(8)): claim due messages, resolve each unfinished
 * recipient to transport:nexthop, cut the recipients into delivery requests
 * per destination, hand them to their transports, record the results, and
 * retry deferred mail with exponential backoff until maximal_queue_lifetime.
 * A message is never dropped: a transport that does not exist (yet) defers
 * its recipients.
 *
 * Scheduling (gates.ts): every destination has a concurrency window that
 * starts at <transport>_initial_destination_concurrency and moves with
 * delivery feedback up to <transport>_destination_concurrency_limit; a
 * destination whose deliveries keep failing to connect is dead for
 * minimal_backoff_time and its mail is deferred at once, so a slow or dead
 * site holds its own requests only, never the others'. Each transport runs
 * at most its process_limit (master.cf maxproc) deliveries. At most
 * qmgr_message_active_limit messages are in hand; a message's results are
 * recorded together when all its requests are done.
 */
import type { Config } from "../config/mod.ts";
import type { Counters } from "../counters.ts";
import { MailError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { newQueueId } from "../queue/queue_id.ts";
import {
  type QueuedMessage,
  type QueuedRecipient,
  QueueNotFoundError,
  type QueueStore,
  type RecipientResult,
} from "../queue/types.ts";
import type { Resolution } from "../rewrite/types.ts";
import type { Transport } from "../transports/types.ts";
import {
  backoffMs,
  errorTransportResult,
  expire,
  logLine,
  softBounce,
  type Timing,
} from "./outcome.ts";
import { attemptNotices, noticeLogLine, type NoticeSettings, noticeSettings } from "./notices.ts";
import { type PlannedRequest, planRequests, type RoutedRecipient } from "./plan.ts";
import { type DeliveryFeedback, Gates } from "./gates.ts";
import { destinationGate, transportGate, type TransportPolicy, transportPolicy } from "./policy.ts";

export {
  backoffMs,
  errorTransportResult,
  expire,
  formatDelay,
  logLine,
  softBounce,
} from "./outcome.ts";
export { type PlannedRequest, planRequests, queueName } from "./plan.ts";
export { type TransportPolicy, transportPolicy } from "./policy.ts";

export interface DeliveryLoopOptions {
  config: Config;
  queue: QueueStore;
  rewrite: { resolve(address: string): Promise<Resolution> };
  /** By master.cf service name: "local", "virtual", ... */
  transports: Record<string, Transport>;
  /** master.cf maxproc of declared delivery services (0: no limit); others get default_process_limit. */
  processLimits?: Record<string, number>;
  log?: Logger;
  /** ms since the epoch; default Date.now. */
  clock?: () => number;
  /** Messages claimed and in hand at once (bounds memory); default qmgr_message_active_limit. */
  maxActive?: number;
  /** Queue ids for notices (bounces, delay warnings); default newQueueId. */
  newQueueId?: () => string;
  /** Counts results (deliveries_total by status) and notices (notices_total by kind). */
  counters?: Counters;
}

/** What a configuration reload replaces (reconfigure). */
export type DeliveryLoopParts = Pick<
  DeliveryLoopOptions,
  "config" | "rewrite" | "transports" | "processLimits"
>;

/** What running one request gave: results, "cancelled" (stopping), or "removed" (postsuper -d). */
type RequestOutcome =
  | { results: RecipientResult[]; handoff?: number; done: number }
  | "cancelled"
  | "removed";

const UNFINISHED = new Set(["pending", "deferred"]);

export class DeliveryLoop {
  #config: Config;
  readonly #queue: QueueStore;
  #rewrite: DeliveryLoopOptions["rewrite"];
  #transports: Record<string, Transport>;
  #processLimits: Record<string, number>;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #maxActive: number;
  readonly #newQueueId: () => string;
  #notices: NoticeSettings;
  #settings: ReturnType<typeof loopSettings>;
  #policies = new Map<string, TransportPolicy>();
  readonly #counters?: Counters;
  readonly #destinations: Gates;
  readonly #transportGates: Gates;
  /** postqueue -f / ETRN asked for a run that ignores defer_transports; the next claim takes it. */
  #flushRequested = false;
  /** Messages in hand, by queue id: the promise settles when its results are recorded. */
  readonly #active = new Map<string, Promise<void>>();
  /** Messages a crash left active: they may have been delivered in part already. */
  readonly #recovered = new Set<string>();
  #running = false;
  #stopping = false;
  #done?: Promise<void>;
  #kicked = false;
  #wake?: () => void;
  /** When the current sleep ends (ms epoch); an earlier retry time wakes it. */
  #sleepUntil = Infinity;
  /** Earliest retry time set since the last claim at or after it: sleep no longer than that. */
  #nextDue = Infinity;

  constructor(options: DeliveryLoopOptions) {
    this.#queue = options.queue;
    this.#log = options.log ?? (() => {});
    this.#clock = options.clock ?? Date.now;
    this.#maxActive = Math.max(
      1,
      options.maxActive ?? options.config.int("qmgr_message_active_limit"),
    );
    this.#newQueueId = options.newQueueId ?? newQueueId;
    this.#counters = options.counters;
    this.#destinations = new Gates({ clock: this.#clock });
    this.#transportGates = new Gates({ clock: this.#clock });
    this.#config = options.config;
    this.#rewrite = options.rewrite;
    this.#transports = options.transports;
    this.#processLimits = options.processLimits ?? {};
    this.#notices = noticeSettings(options.config);
    this.#settings = loopSettings(options.config);
    // A bad limit is a configuration error now, not a failure per message.
    for (const name of Object.keys(this.#transports)) this.#policyOf(name);
  }

  /** Throws ConfigError when a transport's scheduling parameters are invalid (reload checks). */
  static checkTransports(
    config: Config,
    transports: Record<string, Transport>,
    processLimits: Record<string, number> = {},
  ): void {
    for (const name of Object.keys(transports)) transportPolicy(config, name, processLimits[name]);
  }

  /**
   * A configuration reload: messages claimed from now on are resolved,
   * scheduled and delivered with the new parts; deliveries in flight finish
   * with the old ones. Destination state (windows, dead sites) carries over.
   * Throws ConfigError, changing nothing, when a transport limit is invalid.
   */
  reconfigure(parts: DeliveryLoopParts): void {
    const processLimits = parts.processLimits ?? {};
    const policies = new Map<string, TransportPolicy>();
    for (const name of Object.keys(parts.transports)) {
      policies.set(name, transportPolicy(parts.config, name, processLimits[name]));
    }
    const settings = loopSettings(parts.config);
    const notices = noticeSettings(parts.config);
    this.#config = parts.config;
    this.#rewrite = parts.rewrite;
    this.#transports = parts.transports;
    this.#processLimits = processLimits;
    this.#policies = policies;
    this.#settings = settings;
    this.#notices = notices;
    this.kick();
  }

  /** Recovers messages a crash left active, then runs until stop(). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopping = false;
    this.#destinations.open();
    this.#transportGates.open();
    this.#done = this.#loop();
  }

  /**
   * Claims nothing more and waits for the deliveries in flight; their results
   * are recorded. Claimed messages whose deliveries had not started stay
   * active in the queue, as after a crash: the next start() recovers them.
   * Until then runOnce() claims nothing.
   */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopping = true;
    this.#destinations.close();
    this.#transportGates.close();
    this.#wake?.();
    await this.#done;
    await this.#allDone();
  }

  /** New mail: look at the queue now rather than at the next scheduled run. */
  kick(): void {
    this.#kicked = true;
    this.#wake?.();
  }

  /**
   * postqueue -f, ETRN (the queue was made due by the caller): dead
   * destinations live again and the next run delivers defer_transports
   * mail too (qmgr's QMGR_FLUSH_DEAD and QMGR_FLUSH_DFXP requests).
   */
  flush(): void {
    this.#destinations.revive();
    this.#flushRequested = true;
    this.kick();
  }

  /**
   * The queue worker was replaced: results it lost left messages active in
   * the database. Make them due again (those still in hand are not started twice).
   */
  async recoverLost(): Promise<void> {
    await this.#recover();
    this.kick();
  }

  /** A destination's scheduling state (tests, admin). */
  destinationState(transport: string, destination: string) {
    return this.#destinations.state(`${transport}\n${destination}`);
  }

  /**
   * Delivers everything due now, once (several messages at a time); resolves
   * when all of it is recorded, to the number of messages handled.
   */
  async runOnce(): Promise<number> {
    let handled = 0;
    try {
      for (;;) {
        const { claimed, drained } = await this.#claim();
        handled += claimed;
        if (drained) break;
        await this.#roomToClaim();
      }
    } finally {
      await this.#allDone();
    }
    return handled;
  }

  async #loop(): Promise<void> {
    await this.#recover();
    while (this.#running) {
      this.#kicked = false;
      let drained = true;
      try {
        ({ drained } = await this.#claim());
      } catch (e) {
        this.#log(`warning: queue run failed: ${(e as Error).message}`);
      }
      if (!this.#running) break;
      if (!drained) await this.#roomToClaim();
      else if (!this.#kicked) await this.#sleep(this.#waitMs());
    }
  }

  /** Messages left active by a crash become due again; remember which, for the agents. */
  async #recover(): Promise<void> {
    try {
      for (const m of await this.#queue.list({ queue: "active" })) this.#recovered.add(m.id);
      const recovered = await this.#queue.recoverActive();
      if (recovered > 0) {
        this.#log(`recovered ${recovered} message(s) left active by a previous run`);
      }
    } catch (e) {
      this.#log(`warning: cannot recover active messages: ${(e as Error).message}`);
    }
  }

  /**
   * Claims due messages while there is room and starts each. `drained`:
   * nothing due was left (or stopping); otherwise the hand is full.
   */
  async #claim(): Promise<{ claimed: number; drained: boolean }> {
    if (this.#nextDue <= this.#clock()) this.#nextDue = Infinity; // those are due: claimed now
    const flushing = this.#flushRequested;
    this.#flushRequested = false;
    let claimed = 0;
    while (!this.#stopping) {
      const room = this.#maxActive - this.#active.size;
      if (room <= 0) return { claimed, drained: false };
      const batch = await this.#queue.claimDue(this.#clock(), room);
      for (const message of batch) if (this.#begin(message, flushing)) claimed++;
      if (batch.length < room) break;
    }
    return { claimed, drained: true };
  }

  /** Starts delivering a claimed message, unless it is in hand already (released and claimed again). */
  #begin(message: QueuedMessage, flushing: boolean): boolean {
    const { id } = message;
    if (this.#active.has(id)) {
      this.#log(`warning: ${id}: still being delivered; not started twice`);
      return false;
    }
    const done = this.#deliverMessage(message, flushing)
      .catch((e) => this.#log(`warning: ${id}: delivery failed: ${(e as Error).message}`))
      .finally(() => {
        this.#active.delete(id);
        this.#recovered.delete(id);
      });
    this.#active.set(id, done);
    return true;
  }

  /**
   * The hand is full: wait until half of it is free, so that claims (each a
   * queue transaction) come in batches rather than one per message done.
   */
  async #roomToClaim(): Promise<void> {
    const lowWater = Math.floor(this.#maxActive / 2);
    while (this.#active.size > lowWater && !this.#stopping) await this.#anyDone();
  }

  /** Resolves when some message in hand is done (at once when none is). */
  async #anyDone(): Promise<void> {
    if (this.#active.size > 0) await Promise.race(this.#active.values());
  }

  async #allDone(): Promise<void> {
    while (this.#active.size > 0) await Promise.all(this.#active.values());
  }

  #waitMs(): number {
    const untilDue = this.#nextDue - this.#clock();
    return Math.max(0, Math.min(this.#settings.runDelayMs, untilDue));
  }

  #sleep(ms: number): Promise<void> {
    this.#sleepUntil = this.#clock() + ms;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        this.#sleepUntil = Infinity;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  #policyOf(transport: string): TransportPolicy {
    let policy = this.#policies.get(transport);
    if (!policy) {
      policy = transportPolicy(this.#config, transport, this.#processLimits[transport]);
      this.#policies.set(transport, policy);
    }
    return policy;
  }

  async #deliverMessage(message: QueuedMessage, flushing: boolean): Promise<void> {
    const claimed = this.#clock();
    // (Envelope & {recipients: QueuedRecipient[]}) intersects the array types; name the real one.
    const recipients: QueuedRecipient[] = message.envelope.recipients;
    const pending = recipients.filter((r) => UNFINISHED.has(r.status));
    const results: RecipientResult[] = [];
    const timings = new Map<number, Timing>();
    const routed: RoutedRecipient[] = [];
    for (const r of pending) {
      try {
        const res = await this.#rewrite.resolve(r.address);
        routed.push({
          recipient: { index: r.index, address: r.address, original: r.original },
          transport: res.transport,
          nexthop: res.nexthop,
        });
      } catch (e) {
        results.push(resolveFailure(r.index, e));
      }
    }
    const requests = planRequests(routed, (t) => this.#policyOf(t).recipients);
    // Read once, when the first request needs it; dropped with the message.
    let content: Promise<Uint8Array> | undefined;
    const readContent = () => content ??= this.#queue.content(message.id);
    const outcomes = await Promise.all(
      requests.map((req) => this.#runRequest(message, req, readContent, flushing)),
    );
    if (outcomes.includes("removed")) return; // removed meanwhile (postsuper -d)
    const interrupted = outcomes.includes("cancelled");
    for (const outcome of outcomes) {
      if (typeof outcome === "string") continue;
      for (const result of outcome.results) {
        results.push(result);
        timings.set(result.index, {
          arrival: message.envelope.arrivalTime,
          claimed,
          handoff: outcome.handoff,
          done: outcome.done,
        });
      }
    }
    // Stopped before anything was tried: leave it active for the next start (recoverActive).
    if (interrupted && results.length === 0) return;
    await this.#finish(message, pending, results, timings, claimed, readContent, interrupted);
  }

  /**
   * One request: wait for its destination's window and its transport's
   * process limit, deliver, and tell the destination how it went.
   */
  async #runRequest(
    message: QueuedMessage,
    req: PlannedRequest,
    readContent: () => Promise<Uint8Array>,
    flushing: boolean,
  ): Promise<RequestOutcome> {
    const transport = this.#transports[req.transport];
    if (!transport) return { results: noAgentResults(req), done: this.#clock() };
    // postconf(5) defer_transports: only a flush (postqueue -f, ETRN) delivers these.
    if (this.#settings.deferTransports.has(req.transport) && !flushing) {
      return { results: deferAll(req, "deferred transport", "none", "4.3.2"), done: this.#clock() };
    }
    const policy = this.#policyOf(req.transport);
    const destination = `${req.transport}\n${req.destination}`;
    const grant = await this.#destinations.acquire(
      destination,
      destinationGate(policy, this.#settings.minBackoff * 1000),
    );
    if (grant.kind === "closed") return "cancelled";
    if (grant.kind === "dead") {
      // qmgr_defer_todo(): the destination is dead; its mail waits without a try.
      const reason = `delivery temporarily suspended: ${grant.reason}`;
      return { results: deferAll(req, reason, "none", grant.dsn), done: this.#clock() };
    }
    let feedback: DeliveryFeedback;
    try {
      const slot = await this.#transportGates.acquire(req.transport, transportGate(policy));
      if (slot.kind !== "go") return "cancelled";
      try {
        let content: Uint8Array;
        try {
          content = await readContent();
        } catch (e) {
          if (e instanceof QueueNotFoundError) return "removed";
          const reason = `cannot read the queued message: ${(e as Error).message}`;
          return { results: deferAll(req, reason, "none"), done: this.#clock() };
        }
        const handoff = this.#clock();
        const results = await this.#deliverRequest(message, content, req, transport);
        feedback = destinationFeedback(results);
        return { results, handoff, done: this.#clock() };
      } finally {
        this.#transportGates.release(req.transport, undefined);
      }
    } finally {
      this.#destinations.release(destination, feedback);
    }
  }

  /** One result per recipient of the request, whatever the transport does. */
  async #deliverRequest(
    message: QueuedMessage,
    content: Uint8Array,
    req: PlannedRequest,
    transport: Transport,
  ): Promise<RecipientResult[]> {
    let got: RecipientResult[];
    try {
      got = await transport.deliver({
        queueId: message.id,
        envelope: message.envelope,
        recipients: req.recipients,
        content,
        nexthop: req.nexthop,
        redelivery: message.attempts > 0 || this.#recovered.has(message.id),
      });
    } catch (e) {
      got = [];
      this.#log(
        `warning: ${message.id}: transport ${req.transport} failed: ${(e as Error).message}`,
      );
    }
    const byIndex = new Map(got.map((r) => [r.index, r]));
    return req.recipients.map((r) =>
      byIndex.get(r.index) ?? {
        index: r.index,
        status: "deferred",
        dsn: "4.3.0",
        reason: `${req.transport} transport gave no result for this recipient`,
        relay: req.transport,
      }
    );
  }

  async #finish(
    message: QueuedMessage,
    pending: QueuedRecipient[],
    raw: RecipientResult[],
    timings: Map<number, Timing>,
    claimed: number,
    readContent: () => Promise<Uint8Array>,
    interrupted = false,
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
      this.#counters?.inc("deliveries_total", { status: final.status });
      return final;
    });
    // Recipients a stop() kept from being tried are due again at once.
    const next = interrupted ? now : now +
      backoffMs(message.attempts, this.#settings.minBackoff, this.#settings.maxBackoff);
    if (results.some((r) => r.status === "deferred")) {
      this.#nextDue = Math.min(this.#nextDue, next);
      if (next < this.#sleepUntil) this.#wake?.(); // sleeping past this retry: look again
    }
    try {
      // The notices are committed with the results, in one queue transaction: recording
      // first could lose a notice in a crash, queueing first could send it twice
      // (the attempt is redone after recovery). Together, it is neither.
      const { notices, delayWarned } = await this.#noticesFor(message, results, readContent, now);
      await this.#queue.recordAttempt(message.id, results, next, { notices, delayWarned });
      // qmgr(8) logs when the queue file goes: every recipient has its final status.
      const finished = !interrupted && results.length === pending.length &&
        results.every((r) => r.status !== "deferred");
      if (finished) this.#log(`${message.id}: removed`);
      for (const notice of notices) {
        this.#log(noticeLogLine(message.id, notice));
        this.#counters?.inc("notices_total", { kind: notice.kind });
        // What master logs for mail from cleanup: the notice entered the queue.
        this.#log(
          `${notice.id}: from=<${notice.envelope.sender}>, size=${notice.content.length}, ` +
            `nrcpt=1 (queue active)`,
        );
      }
      if (notices.length > 0) this.kick();
    } catch (e) {
      // The message stays active until the next start (recoverActive): at-least-once.
      this.#log(`warning: ${message.id}: cannot record delivery results: ${(e as Error).message}`);
    }
  }

  /**
   * A notice that cannot be built (its original unreadable) must not keep the
   * results from being recorded: that would deliver the message again.
   */
  async #noticesFor(
    message: QueuedMessage,
    results: RecipientResult[],
    readContent: () => Promise<Uint8Array>,
    now: number,
  ) {
    try {
      return await attemptNotices(
        message,
        results,
        readContent,
        this.#notices,
        now,
        () => this.#newQueueId(),
      );
    } catch (e) {
      this.#log(
        `warning: ${message.id}: cannot build delivery status notices: ${(e as Error).message}`,
      );
      return { notices: [], delayWarned: false };
    }
  }
}

/** The retry and lifetime parameters the loop reads (postconf(5)). */
function loopSettings(config: Config) {
  return {
    runDelayMs: config.time("queue_run_delay") * 1000,
    minBackoff: config.time("minimal_backoff_time"),
    maxBackoff: config.time("maximal_backoff_time"),
    lifetime: config.time("maximal_queue_lifetime"),
    bounceLifetime: config.time("bounce_queue_lifetime"),
    softBounce: config.bool("soft_bounce"),
    // postconf(5) defer_transports
    deferTransports: new Set(config.list("defer_transports")),
  };
}

/** Recipients of a transport facteur does not have: error(8) answers, any other defers. */
function noAgentResults(req: PlannedRequest): RecipientResult[] {
  if (req.transport === "error") {
    return req.recipients.map((r) => errorTransportResult(r.index, req.nexthop));
  }
  return deferAll(
    req,
    `mail transport unavailable: no "${req.transport}" transport in this facteur`,
    "none",
  );
}

/**
 * What a delivery tells its destination's window: a site failure (the
 * destination as a whole, not a recipient, failed) is negative feedback;
 * anything else that reached the destination is positive.
 */
function destinationFeedback(results: readonly RecipientResult[]): DeliveryFeedback {
  const site = results.find((r) => r.siteFailure);
  if (site && !results.some((r) => r.status === "sent")) {
    return { ok: false, dsn: site.dsn, reason: site.reason };
  }
  return { ok: true };
}

function deferAll(
  req: PlannedRequest,
  reason: string,
  relay: string,
  dsn = "4.3.0",
): RecipientResult[] {
  return req.recipients.map((r) => ({
    index: r.index,
    status: "deferred",
    dsn,
    reason,
    relay,
  }));
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
