/**
 * The qmgr scheduler with the queue and address resolution for real and
 * scripted transports: dead-destination feedback, no head-of-line blocking,
 * concurrency growth, defer_transports and flush, rate delay.
 */
import assert from "node:assert/strict";
import type { RecipientResult } from "../../src/queue/mod.ts";
import type { DeliveryRequest, Transport } from "../../src/transports/types.ts";
import { harness, SlowTransport, waitFor } from "./helpers.ts";

const REFUSED = "connect to mx.dead.test[127.0.0.2]:25: Connection refused";

/** smtp(8) stand-in: dead.test refuses connections after `delayMs`; other domains accept. */
class ScriptedSmtp implements Transport {
  readonly name = "smtp";
  requests: DeliveryRequest[] = [];
  inFlight = new Map<string, number>();
  constructor(readonly delayMs = 5) {}
  async deliver(req: DeliveryRequest): Promise<RecipientResult[]> {
    this.requests.push(req);
    this.inFlight.set(req.nexthop, (this.inFlight.get(req.nexthop) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, this.delayMs));
    this.inFlight.set(req.nexthop, this.inFlight.get(req.nexthop)! - 1);
    const dead = req.nexthop === "dead.test";
    return req.recipients.map((r) =>
      dead
        ? { index: r.index, status: "deferred", dsn: "4.4.1", reason: REFUSED, siteFailure: true }
        : { index: r.index, status: "sent", dsn: "2.0.0", reason: "250 2.0.0 Ok", relay: "mx" }
    );
  }
  to(nexthop: string): number {
    return this.requests.filter((r) => r.nexthop === nexthop).length;
  }
}

Deno.test("qmgr: a destination that refuses connections is dead after one cohort; its mail waits untried", async () => {
  const smtp = new ScriptedSmtp(20);
  const h = await harness({}, { smtp });
  for (let i = 0; i < 30; i++) {
    await h.enqueue([`u${i}@dead.test`]);
    await h.enqueue([`u${i}@good.test`]);
  }
  assert.equal(await h.loop.runOnce(), 60);
  // initial_destination_concurrency = 5: those five tried, the other 25 not.
  assert.equal(smtp.to("dead.test"), 5);
  assert.equal(smtp.to("good.test"), 30, "the live destination got all of its mail");
  const suspended = h.log.filter((l) =>
    l.includes("status=deferred (delivery temporarily suspended: " + REFUSED + ")")
  );
  assert.equal(suspended.length, 25);
  assert.match(suspended[0], /to=<u\d+@dead\.test>, relay=none, .*dsn=4\.4\.1/);
  assert.equal(
    h.log.filter((l) => l.includes("@good.test") && l.includes("status=sent")).length,
    30,
  );
  assert.equal((await h.queue.list({ queue: "deferred" })).length, 30);
  assert.equal(h.log.filter((l) => l.endsWith(": removed")).length, 30, "only the sent ones left");
  assert.equal(h.loop.destinationState("smtp", "dead.test")?.dead, true);

  // Within minimal_backoff_time (60s here) a new attempt is not made...
  h.clock.now += 61_000;
  // ...after it, the destination is probed again (and dies again).
  await h.loop.runOnce();
  assert.equal(smtp.to("dead.test"), 10);
  // postqueue -f revives it at once.
  h.loop.flush();
  for (const m of await h.queue.list({ queue: "deferred" })) await h.queue.requeue(m.id);
  await h.loop.runOnce();
  assert.equal(smtp.to("dead.test"), 15);
  await h.close();
});

Deno.test("qmgr: a slow destination never holds mail for the others (no head-of-line blocking)", async () => {
  const stuck = new SlowTransport("smtp", 0, true);
  const virtual = new SlowTransport("virtual", 1);
  const h = await harness({}, { smtp: stuck, virtual }, { clock: Date.now });
  h.clock.now = Date.now(); // arrival times
  for (let i = 0; i < 200; i++) await h.enqueue([`u${i}@slow.test`]);
  for (let i = 0; i < 50; i++) await h.enqueue([`v${i}@mailbox.test`]);
  h.loop.start();
  await waitFor(() => virtual.requests.length === 50, 5000);
  assert.equal(stuck.inFlight, 5, "the slow site holds its initial window, no more");
  stuck.open();
  await waitFor(async () => (await h.queue.list()).length === 0, 5000);
  assert.equal(stuck.requests.length, 200);
  assert.ok(stuck.maxInFlight <= 20, "never past default_destination_concurrency_limit");
  assert.ok(stuck.maxInFlight > 5, `the window grew with successes (max ${stuck.maxInFlight})`);
  await h.close();
});

Deno.test("qmgr: defer_transports mail waits for a flush (postqueue -f), then goes out", async () => {
  const smtp = new ScriptedSmtp();
  const h = await harness({ defer_transports: "smtp" }, { smtp });
  const id = await h.enqueue(["bob@remote.test", "alice@localhost"]);
  await h.loop.runOnce();
  assert.equal(smtp.requests.length, 0);
  assert.ok(h.log.some((l) =>
    l.includes("to=<bob@remote.test>") && l.includes("dsn=4.3.2") &&
    l.includes("status=deferred (deferred transport)")
  ));
  assert.ok(h.log.some((l) => l.includes("to=<alice@localhost>") && l.includes("status=sent")));
  // A scheduled retry keeps deferring...
  h.clock.now += 200_000;
  await h.loop.runOnce();
  assert.equal(smtp.requests.length, 0);
  // ...a flush delivers.
  await h.queue.requeue(id);
  h.loop.flush();
  await h.loop.runOnce();
  assert.equal(smtp.requests.length, 1);
  assert.deepEqual(await h.queue.list(), []);
  await h.close();
});

Deno.test("qmgr: <transport>_destination_rate_delay spaces deliveries to one destination", async () => {
  const virtual = new SlowTransport("virtual", 1);
  const starts: number[] = [];
  const timed: Transport = {
    name: "virtual",
    deliver(req) {
      starts.push(Date.now());
      return virtual.deliver(req);
    },
  };
  const h = await harness({ virtual_destination_rate_delay: "1s" }, { virtual: timed }, {
    clock: Date.now,
  });
  h.clock.now = Date.now(); // arrival times
  for (let i = 0; i < 3; i++) await h.enqueue([`u${i}@mailbox.test`]);
  await h.loop.runOnce();
  assert.equal(starts.length, 3);
  assert.equal(virtual.maxInFlight, 1);
  for (let i = 1; i < 3; i++) assert.ok(starts[i] - starts[i - 1] >= 950);
  await h.close();
});
