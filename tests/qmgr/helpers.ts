/** Fixtures for the queue manager tests: a queue in a temporary directory, fake transports. */
import { join } from "node:path";
import { DeliveryLoop, type DeliveryLoopOptions } from "../../src/qmgr/mod.ts";
import {
  newQueueId,
  openQueue,
  type QueueStore,
  type RecipientResult,
} from "../../src/queue/mod.ts";
import { Rewriter } from "../../src/rewrite/mod.ts";
import type { DeliveryRequest, Transport } from "../../src/transports/types.ts";
import { testConfig, testTables } from "../rewrite/helpers.ts";

export const T0 = 1_800_000_000_000;
export const enc = new TextEncoder();

/** A transport whose answer per recipient address is given by `answer`; records every request. */
export class FakeTransport implements Transport {
  requests: DeliveryRequest[] = [];
  constructor(
    readonly name: string,
    private answer: (address: string, attempt: number) => Omit<RecipientResult, "index"> = () => ({
      status: "sent",
      dsn: "2.0.0",
      reason: "delivered to maildir",
    }),
  ) {}
  deliver(req: DeliveryRequest): Promise<RecipientResult[]> {
    this.requests.push(req);
    const attempt = this.requests.length;
    return Promise.resolve(
      req.recipients.map((r) => ({
        index: r.index,
        relay: this.name,
        ...this.answer(r.address, attempt),
      })),
    );
  }
}

/**
 * A slow transport: each request takes `delayMs`, or waits for open() when
 * gated. Counts requests in flight, in all and per destination (the
 * recipient's address for one-recipient requests, else the nexthop).
 */
export class SlowTransport implements Transport {
  requests: DeliveryRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly #perDestination = new Map<string, number>();
  maxPerDestination = 0;
  #gate?: Promise<void>;
  #open?: () => void;

  constructor(readonly name: string, readonly delayMs = 5, gated = false) {
    if (gated) this.#gate = new Promise((resolve) => this.#open = resolve);
  }

  /** Lets every held and later request through. */
  open(): void {
    this.#open?.();
  }

  async deliver(req: DeliveryRequest): Promise<RecipientResult[]> {
    this.requests.push(req);
    const dest = req.recipients.length === 1 ? req.recipients[0].address : req.nexthop;
    const here = (this.#perDestination.get(dest) ?? 0) + 1;
    this.#perDestination.set(dest, here);
    this.maxPerDestination = Math.max(this.maxPerDestination, here);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      await (this.#gate ?? new Promise((r) => setTimeout(r, this.delayMs)));
    } finally {
      this.inFlight--;
      this.#perDestination.set(dest, this.#perDestination.get(dest)! - 1);
    }
    return req.recipients.map((r) => ({
      index: r.index,
      relay: this.name,
      status: "sent",
      dsn: "2.0.0",
      reason: "delivered to maildir",
    }));
  }
}

export async function harness(
  values: Record<string, string> = {},
  transports: Record<string, Transport> = {},
  options: Partial<DeliveryLoopOptions> = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "facteur-qmgr-" });
  const queue: QueueStore = openQueue(join(dir, "data"));
  const config = testConfig({
    minimal_backoff_time: "60s",
    maximal_backoff_time: "200s",
    virtual_alias_domains: "alias.test",
    virtual_mailbox_domains: "mailbox.test",
    ...values,
  });
  const rewrite = new Rewriter(config, { openTable: testTables().open });
  const clock = { now: T0 };
  const log: string[] = [];
  const local = new FakeTransport("local");
  const all = { local, ...transports };
  const loopOptions = {
    config,
    queue,
    rewrite,
    transports: all,
    log: (l: string) => log.push(l),
    clock: () => clock.now,
    ...options,
  };
  const loop = new DeliveryLoop(loopOptions);
  const enqueue = async (recipients: string[], sender = "s@example.org") => {
    const id = newQueueId();
    await queue.enqueue(
      id,
      { sender, recipients: recipients.map((address) => ({ address })), arrivalTime: clock.now },
      enc.encode("Subject: x\r\n\r\nbody\r\n"),
    );
    return id;
  };
  const close = async () => {
    await loop.stop();
    await queue.close();
    await Deno.remove(dir, { recursive: true });
  };
  return { dir, queue, config, rewrite, clock, log, local, loop, loopOptions, enqueue, close };
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
