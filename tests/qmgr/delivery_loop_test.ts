import assert from "node:assert/strict";
import { join } from "node:path";
import { DeliveryLoop } from "../../src/qmgr/mod.ts";
import { newQueueId, openQueue, type QueuedRecipient } from "../../src/queue/mod.ts";
import { Rewriter } from "../../src/rewrite/mod.ts";
import { LocalTransport } from "../../src/transports/local/mod.ts";
import type { Transport } from "../../src/transports/types.ts";
import { testConfig, testTables } from "../rewrite/helpers.ts";
import { enc, FakeTransport, harness, T0, waitFor } from "./helpers.ts";

Deno.test("qmgr: a delivered message leaves the queue and is logged", async () => {
  const h = await harness();
  const id = await h.enqueue(["alice@localhost"]);
  h.clock.now += 120;
  assert.equal(await h.loop.runOnce(), 1);
  assert.equal(await h.queue.get(id), undefined);
  assert.equal(h.local.requests.length, 1);
  assert.deepEqual(h.local.requests[0].recipients, [{
    index: 0,
    address: "alice@localhost",
    original: undefined,
  }]);
  assert.equal(h.local.requests[0].nexthop, "mail.example.com");
  assert.deepEqual(h.log, [
    `${id}: to=<alice@localhost>, relay=local, delay=0.12, delays=0.12/0/0/0, dsn=2.0.0, ` +
    "status=sent (delivered to maildir)",
    // qmgr(8): the queue file is gone once every recipient has its final status.
    `${id}: removed`,
  ]);
  await h.close();
});

Deno.test("qmgr: deferred mail is retried with doubling backoff; sent recipients are not redone", async () => {
  const flaky = new FakeTransport(
    "virtual",
    (_a, attempt) =>
      attempt < 3
        ? { status: "deferred", dsn: "4.2.0", reason: "mailbox locked" }
        : { status: "sent", dsn: "2.0.0", reason: "delivered to mailbox" },
  );
  const h = await harness({}, { virtual: flaky });
  const id = await h.enqueue(["alice@localhost", "u@mailbox.test"]);

  await h.loop.runOnce();
  let msg = await h.queue.get(id);
  assert.equal(msg?.queue, "deferred");
  assert.equal(msg?.nextAttempt, T0 + 60_000);
  const recipients: QueuedRecipient[] = msg!.envelope.recipients;
  assert.deepEqual(recipients.map((r) => r.status), ["sent", "deferred"]);

  h.clock.now = T0 + 59_000;
  assert.equal(await h.loop.runOnce(), 0, "not due yet");
  h.clock.now = T0 + 60_000;
  assert.equal(await h.loop.runOnce(), 1);
  msg = await h.queue.get(id);
  assert.equal(msg?.nextAttempt, T0 + 60_000 + 120_000, "second deferral waits twice as long");

  h.clock.now = T0 + 180_000;
  await h.loop.runOnce();
  assert.equal(await h.queue.get(id), undefined);
  assert.equal(h.local.requests.length, 1, "the local recipient was delivered once");
  assert.deepEqual(flaky.requests.map((r) => r.recipients.map((x) => x.address)), [
    ["u@mailbox.test"],
    ["u@mailbox.test"],
    ["u@mailbox.test"],
  ]);
  await h.close();
});

Deno.test("qmgr: backoff stops growing at maximal_backoff_time", async () => {
  const never = new FakeTransport(
    "virtual",
    () => ({ status: "deferred", dsn: "4.2.0", reason: "busy" }),
  );
  const h = await harness({}, { virtual: never });
  const id = await h.enqueue(["u@mailbox.test"]);
  const waits: number[] = [];
  for (let i = 0; i < 4; i++) {
    await h.loop.runOnce();
    const next = (await h.queue.get(id))!.nextAttempt;
    waits.push((next - h.clock.now) / 1000);
    h.clock.now = next;
  }
  assert.deepEqual(waits, [60, 120, 200, 200]);
  await h.close();
});

Deno.test("qmgr: a transport that does not exist defers, naming it", async () => {
  const h = await harness();
  const id = await h.enqueue(["bob@far.test"]);
  await h.loop.runOnce();
  const rcpt = (await h.queue.get(id))!.envelope.recipients[0];
  assert.equal(rcpt.status, "deferred");
  assert.equal(rcpt.dsn, "4.3.0");
  assert.equal(rcpt.reason, 'mail transport unavailable: no "smtp" transport in this facteur');
  assert.match(
    h.log[0],
    /to=<bob@far\.test>, relay=none, .*status=deferred \(mail transport unavailable/,
  );
  await h.close();
});

Deno.test("qmgr: an unknown address in a virtual alias domain bounces through the error transport", async () => {
  const h = await harness();
  const id = await h.enqueue(["nobody@alias.test"]);
  await h.loop.runOnce();
  assert.equal(await h.queue.get(id), undefined, "finished: bounced");
  assert.match(h.log[0], /dsn=5\.1\.1, status=bounced \(User unknown in virtual alias table\)/);
  await h.close();
});

Deno.test("qmgr: soft_bounce keeps would-be bounces queued as 4.x.x", async () => {
  const h = await harness({ soft_bounce: "yes" });
  const id = await h.enqueue(["nobody@alias.test"]);
  await h.loop.runOnce();
  const rcpt = (await h.queue.get(id))!.envelope.recipients[0];
  assert.equal(rcpt.status, "deferred");
  assert.equal(rcpt.dsn, "4.1.1");
  await h.close();
});

Deno.test("qmgr: after maximal_queue_lifetime deferred recipients expire (5.4.7)", async () => {
  const h = await harness({ maximal_queue_lifetime: "1d" });
  const id = await h.enqueue(["bob@far.test"]);
  await h.loop.runOnce();
  h.clock.now = T0 + 86_400_000;
  await h.loop.runOnce();
  assert.equal(await h.queue.get(id), undefined);
  assert.match(
    h.log[1],
    /dsn=5\.4\.7, status=expired \(delivery time expired after 1d; last error: mail transport unavailable/,
  );
  await h.close();
});

Deno.test("qmgr: bounces (sender <>) use bounce_queue_lifetime", async () => {
  const h = await harness({ maximal_queue_lifetime: "5d", bounce_queue_lifetime: "0" });
  const id = await h.enqueue(["bob@far.test"], "");
  await h.loop.runOnce();
  assert.equal(await h.queue.get(id), undefined, "lifetime 0: tried once, then returned");
  await h.close();
});

Deno.test("qmgr: a transport that throws or forgets a recipient defers, never drops", async () => {
  const broken: Transport = { name: "virtual", deliver: () => Promise.reject(new Error("kaboom")) };
  const h = await harness({}, { virtual: broken });
  const id = await h.enqueue(["u@mailbox.test"]);
  await h.loop.runOnce();
  const rcpt = (await h.queue.get(id))!.envelope.recipients[0];
  assert.equal(rcpt.status, "deferred");
  assert.match(rcpt.reason!, /virtual transport gave no result/);
  assert.ok(h.log.some((l) => l.includes("kaboom")));
  await h.close();
});

Deno.test("qmgr: recipients are grouped per transport and nexthop, local one per request", async () => {
  const virtual = new FakeTransport("virtual");
  const h = await harness({}, { virtual });
  await h.enqueue(["a@localhost", "b@mailbox.test", "c@localhost", "d@mailbox.test"]);
  await h.loop.runOnce();
  // postconf(5): local_destination_recipient_limit = 1, default_destination_recipient_limit = 50.
  const indexes = (t: FakeTransport) =>
    t.requests.map((r) => r.recipients.map((x) => x.index)).sort();
  assert.deepEqual(indexes(h.local), [[0], [2]]);
  assert.deepEqual(indexes(virtual), [[1, 3]]);
  await h.close();
});

Deno.test("qmgr: _destination_recipient_limit cuts requests; 0 means no limit", async () => {
  const virtual = new FakeTransport("virtual");
  const h = await harness({
    local_destination_recipient_limit: "2",
    default_destination_recipient_limit: "0",
  }, { virtual });
  const many = Array.from({ length: 5 }, (_, i) => `u${i}@mailbox.test`);
  await h.enqueue(["a@localhost", "b@localhost", "c@localhost", ...many]);
  await h.loop.runOnce();
  const indexes = (t: FakeTransport) =>
    t.requests.map((r) => r.recipients.map((x) => x.index)).sort();
  assert.deepEqual(indexes(h.local), [[0, 1], [2]]);
  assert.deepEqual(indexes(virtual), [[3, 4, 5, 6, 7]]);
  await h.close();
});

Deno.test("qmgr: start() recovers active messages; kick() delivers new mail at once", async () => {
  const h = await harness({ queue_run_delay: "3600s" });
  const stuck = await h.enqueue(["alice@localhost"]);
  await h.queue.claimDue(h.clock.now, 10); // as if a crash happened mid-delivery
  assert.equal((await h.queue.get(stuck))?.queue, "active");
  h.loop.start();
  await waitFor(async () => (await h.queue.get(stuck)) === undefined);
  const fresh = await h.enqueue(["bob@localhost"]);
  h.loop.kick();
  await waitFor(async () => (await h.queue.get(fresh)) === undefined);
  await h.loop.stop();
  assert.equal(h.local.requests.length, 2);
  await h.close();
});

Deno.test("qmgr: the running loop retries when the backoff has passed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facteur-qmgr-" });
  const queue = openQueue(join(dir, "data"));
  const config = testConfig({
    minimal_backoff_time: "1s",
    maximal_backoff_time: "1s",
    queue_run_delay: "3600s",
  });
  const transport = new FakeTransport(
    "local",
    (_a, attempt) =>
      attempt === 1
        ? { status: "deferred", dsn: "4.2.0", reason: "locked" }
        : { status: "sent", dsn: "2.0.0", reason: "delivered to maildir" },
  );
  const loop = new DeliveryLoop({
    config,
    queue,
    rewrite: new Rewriter(config, { openTable: testTables().open }),
    transports: { local: transport },
  });
  const id = newQueueId();
  await queue.enqueue(id, {
    sender: "s@x.test",
    recipients: [{ address: "a@localhost" }],
    arrivalTime: Date.now(),
  }, enc.encode("S: x\r\n\r\nb\r\n"));
  const started = Date.now();
  loop.start();
  await waitFor(async () => (await queue.get(id)) === undefined, 5000);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 900 && elapsed < 3000, `retried after ${elapsed} ms`);
  assert.equal(transport.requests.length, 2);
  await loop.stop();
  await queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("qmgr: end to end with the real local transport into a Maildir", async () => {
  const h = await harness();
  const home = join(h.dir, "home");
  const config = testConfig({ local_home_base: home, home_mailbox: "Maildir/" });
  const rewrite = new Rewriter(config, { openTable: testTables().open });
  const local = new LocalTransport(config, {
    openTable: testTables().open,
    rewrite,
    passwdFile: "/nonexistent",
  });
  const loop = new DeliveryLoop({
    config,
    queue: h.queue,
    rewrite,
    transports: { local },
    log: (l) => h.log.push(l),
    clock: () => h.clock.now,
  });
  const id = await h.enqueue(["postmaster"]);
  await loop.runOnce();
  assert.equal(await h.queue.get(id), undefined);
  const names: string[] = [];
  for await (const e of Deno.readDir(join(home, "postmaster", "Maildir", "new"))) {
    names.push(e.name);
  }
  assert.equal(names.length, 1);
  const text = await Deno.readTextFile(join(home, "postmaster", "Maildir", "new", names[0]));
  assert.equal(
    text,
    "Return-Path: <s@example.org>\nX-Original-To: postmaster\nDelivered-To: postmaster@mail.example.com\n" +
      "Subject: x\n\nbody\n",
  );
  assert.match(
    h.log.at(-2)!,
    /to=<postmaster>, relay=local, .*status=sent \(delivered to maildir\)/,
  );
  assert.equal(h.log.at(-1), `${id}: removed`);
  await h.close();
});
