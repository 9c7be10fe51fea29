/** requeueDomain: postqueue -s / ETRN select deferred mail by recipient domain. */
import assert from "node:assert/strict";
import { newQueueId, type QueueStore } from "../../src/queue/mod.ts";
import { openTestQueue, QUEUE_THREADS, removeDir, sampleEnvelope, tempDataDir } from "./helpers.ts";

const LATER = () => Date.now() + 3_600_000;

/** Enqueues one message for `recipients`, tries it once (all deferred), due in an hour. */
async function deferred(q: QueueStore, recipients: string[]): Promise<string> {
  const id = newQueueId();
  const envelope = sampleEnvelope({ recipients: recipients.map((address) => ({ address })) });
  await q.enqueue(id, envelope, new TextEncoder().encode("x"));
  await q.claimDue(Date.now(), 100);
  const results = recipients.map((_, index) => ({
    index,
    status: "deferred" as const,
    dsn: "4.4.1",
    reason: "connection refused",
  }));
  await q.recordAttempt(id, results, LATER());
  return id;
}

for (const thread of QUEUE_THREADS) {
  Deno.test(`[${thread}] requeueDomain makes due only mail for that exact domain`, async () => {
    const dir = tempDataDir();
    const q = await openTestQueue(thread, dir);
    try {
      const a = await deferred(q, ["bob@Example.NET", "carol@other.test"]);
      await deferred(q, ["dave@sub.example.net"]);
      await deferred(q, ["erin@example.net.evil.test"]);
      const held = await deferred(q, ["frank@example.net"]);
      await q.hold(held);
      // A "_" in the domain must not act as a LIKE wildcard.
      await deferred(q, ["gus@exampleXnet"]);

      assert.deepEqual(await q.claimDue(Date.now(), 100), [], "nothing due before");
      assert.equal(await q.requeueDomain("example.net"), 1);
      assert.deepEqual((await q.claimDue(Date.now(), 100)).map((m) => m.id), [a]);
      assert.equal(await q.requeueDomain("example_net"), 0);
      assert.equal(await q.requeueDomain("nowhere.test"), 0);
      await assert.rejects(q.requeueDomain(""), TypeError);
      await assert.rejects(q.requeueDomain("a@b"), TypeError);
    } finally {
      await q.close();
      removeDir(dir);
    }
  });

  Deno.test(`[${thread}] requeueDomain skips recipients already delivered`, async () => {
    const dir = tempDataDir();
    const q = await openTestQueue(thread, dir);
    try {
      const id = newQueueId();
      const envelope = sampleEnvelope({
        recipients: [{ address: "bob@done.test" }, { address: "carol@later.test" }],
      });
      await q.enqueue(id, envelope, new TextEncoder().encode("x"));
      await q.claimDue(Date.now(), 10);
      await q.recordAttempt(id, [
        { index: 0, status: "sent", dsn: "2.0.0", reason: "ok" },
        { index: 1, status: "deferred", dsn: "4.4.1", reason: "refused" },
      ], LATER());
      assert.equal(await q.requeueDomain("done.test"), 0);
      assert.equal(await q.requeueDomain("LATER.test"), 1);
    } finally {
      await q.close();
      removeDir(dir);
    }
  });
}
