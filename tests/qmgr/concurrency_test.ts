import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.ts";
import { DeliveryLoop } from "../../src/qmgr/mod.ts";
import { testConfig } from "../rewrite/helpers.ts";
import { FakeTransport, harness, SlowTransport, waitFor } from "./helpers.ts";

/** Every request's queue id and recipient indexes, to check nothing was delivered twice. */
function deliveries(t: { requests: { queueId: string; recipients: { index: number }[] }[] }) {
  return t.requests.flatMap((r) => r.recipients.map((x) => `${r.queueId}#${x.index}`));
}

Deno.test("qmgr: messages to one destination go out in parallel, at most its concurrency limit", async () => {
  const virtual = new SlowTransport("virtual", 10);
  const h = await harness({ default_destination_concurrency_limit: "4" }, { virtual });
  const ids = [];
  for (let i = 0; i < 40; i++) ids.push(await h.enqueue([`u${i}@mailbox.test`]));
  assert.equal(await h.loop.runOnce(), 40);
  assert.equal(virtual.maxInFlight, 4);
  assert.equal(virtual.requests.length, 40);
  assert.equal(new Set(deliveries(virtual)).size, 40, "each message delivered once");
  assert.deepEqual(await h.queue.list(), [], "every result recorded");
  assert.equal(h.log.filter((l) => l.includes("status=sent")).length, 40);
  await h.close();
});

Deno.test("qmgr: local deliveries are limited per recipient (local_destination_concurrency_limit 2)", async () => {
  const local = new SlowTransport("local", 10);
  const h = await harness({}, { local });
  for (let i = 0; i < 10; i++) {
    for (const user of ["alice", "bob", "carol"]) await h.enqueue([`${user}@localhost`]);
  }
  await h.loop.runOnce();
  assert.equal(local.maxPerDestination, 2);
  assert.equal(local.maxInFlight, 6, "different recipients are delivered in parallel");
  assert.equal(local.requests.length, 30);
  assert.deepEqual(await h.queue.list(), []);
  await h.close();
});

Deno.test("qmgr: at most maxActive messages in hand, and default_process_limit per transport", async () => {
  const virtual = new SlowTransport("virtual", 5);
  const h = await harness({}, { virtual }, { maxActive: 3 });
  for (let i = 0; i < 12; i++) await h.enqueue([`u${i}@mailbox.test`]);
  assert.equal(await h.loop.runOnce(), 12);
  assert.equal(virtual.maxInFlight, 3);

  const local = new SlowTransport("local", 5);
  const p = await harness({ default_process_limit: "5" }, { local });
  for (let i = 0; i < 20; i++) await p.enqueue([`user${i}@localhost`]);
  await p.loop.runOnce();
  assert.equal(local.maxInFlight, 5);
  assert.deepEqual(await p.queue.list(), []);
  await h.close();
  await p.close();
});

Deno.test("qmgr: stop() waits for deliveries in flight, records them, and loses nothing", async () => {
  const gated = new SlowTransport("virtual", 0, true);
  const h = await harness({ default_destination_concurrency_limit: "4" }, { virtual: gated });
  const ids = [];
  for (let i = 0; i < 10; i++) ids.push(await h.enqueue([`u${i}@mailbox.test`]));
  h.loop.start();
  await waitFor(() => gated.inFlight === 4);
  let stopped = false;
  const stopping = h.loop.stop().then(() => stopped = true);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(stopped, false, "stop() waits while deliveries are in flight");
  gated.open();
  await stopping;
  assert.equal(gated.requests.length, 4, "nothing new started after stop()");
  const left = await h.queue.list();
  assert.equal(left.length, 6, "the four in flight were recorded and removed");
  assert.ok(left.every((m) => m.queue === "active"), "the others were claimed, never tried");

  // The next start recovers them; each message is delivered exactly once overall.
  const after = new FakeTransport("virtual");
  const again = new DeliveryLoop({ ...h.loopOptions, transports: { virtual: after } });
  again.start();
  await waitFor(async () => (await h.queue.list()).length === 0);
  await again.stop();
  const all = [...deliveries(gated), ...deliveries(after)].sort();
  assert.deepEqual(all, ids.map((id) => `${id}#0`).sort());
  assert.ok(after.requests.every((r) => r.redelivery), "recovered messages are redeliveries");
  await h.close();
});

Deno.test("qmgr: a message released and claimed again while in flight is not delivered twice at once", async () => {
  const gated = new SlowTransport("virtual", 0, true);
  const h = await harness({ queue_run_delay: "3600s" }, { virtual: gated });
  const id = await h.enqueue(["u@mailbox.test"]);
  h.loop.start();
  await waitFor(() => gated.inFlight === 1);
  // postsuper -h then -H during the delivery: the message is due again at once.
  assert.equal(await h.queue.hold(id), true);
  assert.equal(await h.queue.release(id), true);
  h.loop.kick();
  await waitFor(() => h.log.some((l) => l.includes(`${id}: still being delivered`)));
  assert.equal(gated.requests.length, 1);
  gated.open();
  await waitFor(async () => (await h.queue.get(id)) === undefined);
  assert.equal(gated.requests.length, 1);
  await h.close();
});

Deno.test("qmgr: requests say whether an earlier attempt may have delivered already", async () => {
  let attempt = 0;
  const virtual = new FakeTransport(
    "virtual",
    () =>
      ++attempt === 1
        ? { status: "deferred", dsn: "4.2.0", reason: "locked" }
        : { status: "sent", dsn: "2.0.0", reason: "delivered to maildir" },
  );
  const h = await harness({ queue_run_delay: "3600s" }, { virtual });
  await h.enqueue(["u@mailbox.test"]);
  await h.loop.runOnce();
  h.clock.now += 3600_000;
  await h.loop.runOnce();
  assert.deepEqual(virtual.requests.map((r) => r.redelivery), [false, true], "a retry");

  const stuck = await h.enqueue(["v@mailbox.test"]);
  await h.queue.claimDue(h.clock.now, 10); // as if a crash happened mid-delivery
  h.loop.start();
  await waitFor(async () => (await h.queue.get(stuck)) === undefined);
  const fresh = await h.enqueue(["w@mailbox.test"]);
  h.loop.kick();
  await waitFor(async () => (await h.queue.get(fresh)) === undefined);
  const byId = new Map(virtual.requests.map((r) => [r.queueId, r.redelivery]));
  assert.equal(byId.get(stuck), true, "left active by a crash");
  assert.equal(byId.get(fresh), false, "a first attempt");
  await h.close();
});

Deno.test("qmgr: a bad concurrency parameter is a configuration error at once", async () => {
  const h = await harness();
  const config = testConfig({ local_destination_concurrency_limit: "two" });
  assert.throws(
    () => new DeliveryLoop({ ...h.loopOptions, config }),
    (e) => e instanceof ConfigError && /local_destination_concurrency_limit/.test(e.message),
  );
  await h.close();
});
