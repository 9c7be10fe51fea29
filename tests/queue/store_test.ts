import assert from "node:assert/strict";
import { newQueueId, QueueNotFoundError, type QueueStore } from "../../src/queue/mod.ts";
import {
  openTestQueue,
  QUEUE_THREADS,
  type QueueThread,
  removeDir,
  sampleEnvelope,
  tempDataDir,
} from "./helpers.ts";

const enc = new TextEncoder();

// The same behaviour whether SQLite runs on the caller's thread or in the queue worker.
for (const thread of QUEUE_THREADS) storeTests(thread);

function storeTests(thread: QueueThread) {
  const test = (name: string, fn: () => Promise<void>) => Deno.test(`[${thread}] ${name}`, fn);
  const openQueue = (dir: string) => openTestQueue(thread, dir);

  async function withQueue(fn: (q: QueueStore, dir: string) => Promise<void>) {
    const dir = tempDataDir();
    const q = await openQueue(dir);
    try {
      await fn(q, dir);
    } finally {
      await q.close();
      removeDir(dir);
    }
  }

  test("enqueue stores envelope and content exactly, in the incoming queue", async () => {
    await withQueue(async (q, dir) => {
      const id = newQueueId();
      const content = new Uint8Array([0, 1, 2, 0x80, 0xff, 13, 10, 46, 13, 10]);
      const envelope = sampleEnvelope({
        sender: "",
        recipients: [
          {
            address: "bob@example.net",
            orcpt: "rfc822;bob@example.net",
            notify: ["FAILURE", "DELAY"],
            original: "info@example.net",
          },
        ],
        ret: "HDRS",
        envid: "QQ314159",
        bodyType: "8BITMIME",
        smtputf8: true,
        client: {
          address: "127.0.0.1",
          hostname: "localhost",
          helo: "client.test",
          protocol: "ESMTP",
        },
      });
      await q.enqueue(id, envelope, content);
      assert.deepEqual(await q.content(id), content);
      const msg = await q.get(id);
      assert.ok(msg);
      assert.equal(msg.queue, "incoming");
      assert.equal(msg.size, content.byteLength);
      assert.equal(msg.attempts, 0);
      assert.deepEqual(msg.envelope, {
        ...envelope,
        recipients: [{ ...envelope.recipients[0], index: 0, status: "pending", attempts: 0 }],
      });
      assert.ok(Deno.statSync(`${dir}/queue.db`).isFile);
      assert.equal(Deno.statSync(`${dir}/queue.db`).mode! & 0o777, 0o600);
    });
  });

  test("claimDue takes due messages oldest first, at most limit, and moves them to active", async () => {
    await withQueue(async (q) => {
      const ids = [newQueueId(), newQueueId(), newQueueId(), newQueueId()];
      const times = [3000, 1000, 2000, 9000];
      for (let i = 0; i < ids.length; i++) {
        await q.enqueue(ids[i], sampleEnvelope({ arrivalTime: times[i] }), enc.encode(`m${i}`));
      }
      const claimed = await q.claimDue(5000, 2);
      assert.deepEqual(claimed.map((m) => m.id), [ids[1], ids[2]]);
      assert.ok(claimed.every((m) => m.queue === "active"));
      assert.deepEqual((await q.claimDue(5000, 10)).map((m) => m.id), [ids[0]]);
      assert.deepEqual(await q.claimDue(5000, 10), [], "active messages are not claimed twice");
      await assert.rejects(q.claimDue(5000, 0), RangeError);
      assert.deepEqual(await q.counts(), {
        incoming: 1,
        active: 3,
        deferred: 0,
        hold: 0,
        corrupt: 0,
      });
    });
  });

  test("recordAttempt defers with per-recipient history, removes when all final", async () => {
    await withQueue(async (q) => {
      const id = newQueueId();
      await q.enqueue(id, sampleEnvelope({ arrivalTime: 0 }), enc.encode("x"));
      await q.claimDue(10, 10);
      await q.recordAttempt(id, [
        {
          index: 0,
          status: "sent",
          dsn: "2.0.0",
          reason: "250 ok",
          relay: "mx.example.net[127.0.0.1]:25",
        },
        { index: 1, status: "deferred", dsn: "4.4.1", reason: "connection refused" },
      ], 60_000);
      const msg = await q.get(id);
      assert.ok(msg);
      assert.equal(msg.queue, "deferred");
      assert.equal(msg.nextAttempt, 60_000);
      assert.equal(msg.attempts, 1);
      const [bob, carol] = msg.envelope.recipients;
      assert.equal(bob.status, "sent");
      assert.equal(bob.dsn, "2.0.0");
      assert.equal(bob.relay, "mx.example.net[127.0.0.1]:25");
      assert.equal(carol.status, "deferred");
      assert.equal(carol.reason, "connection refused");
      assert.equal(carol.attempts, 1);
      assert.equal(typeof carol.lastAttempt, "number");

      assert.deepEqual(await q.claimDue(59_999, 10), [], "not due before nextAttempt");
      const [again] = await q.claimDue(60_000, 10);
      assert.equal(again.id, id);
      await assert.rejects(
        q.recordAttempt(id, [{ index: 0, status: "bounced", dsn: "5.1.1", reason: "x" }], 0),
        /already sent/,
      );
      await q.recordAttempt(id, [{
        index: 1,
        status: "bounced",
        dsn: "5.1.1",
        reason: "no such user",
      }], 0);
      assert.equal(await q.get(id), undefined);
      await assert.rejects(q.content(id), QueueNotFoundError);
      assert.equal((await q.counts()).deferred, 0);
    });
  });

  test("recordAttempt rejects bad results without changing anything", async () => {
    await withQueue(async (q) => {
      const id = newQueueId();
      await q.enqueue(id, sampleEnvelope(), enc.encode("x"));
      await assert.rejects(
        q.recordAttempt(id, [{ index: 0, status: "sent", dsn: "5.0.0", reason: "" }], 0),
        TypeError,
      );
      await assert.rejects(
        q.recordAttempt(id, [
          { index: 0, status: "sent", dsn: "2.0.0", reason: "ok" },
          { index: 7, status: "sent", dsn: "2.0.0", reason: "ok" },
        ], 0),
        /no recipient #7/,
      );
      const msg = await q.get(id);
      assert.equal(msg?.envelope.recipients[0].status, "pending", "index 0 update rolled back");
      assert.equal(msg?.attempts, 0);
      await assert.rejects(q.recordAttempt("NOSUCHID00", [], 0), QueueNotFoundError);
    });
  });

  test("hold, release, requeue, remove, markCorrupt", async () => {
    await withQueue(async (q) => {
      const id = newQueueId();
      await q.enqueue(id, sampleEnvelope({ arrivalTime: 0 }), enc.encode("x"));
      assert.equal(await q.hold(id), true);
      assert.deepEqual(await q.claimDue(Date.now(), 10), [], "held mail is not delivered");
      assert.equal(await q.requeue(id), false, "requeue does not release a hold");
      assert.equal(await q.release(id), true);
      assert.equal(await q.release(id), false, "not held any more");
      const released = await q.get(id);
      assert.equal(released?.queue, "deferred");

      const [active] = await q.claimDue(Date.now(), 1);
      assert.equal(active.id, id);
      assert.equal(await q.hold(id), true, "hold during delivery");
      await q.recordAttempt(
        id,
        [{ index: 0, status: "deferred", dsn: "4.0.0", reason: "later" }],
        5,
      );
      assert.equal((await q.get(id))?.queue, "hold", "a message held while active stays held");
      await q.release(id);

      await q.recordAttempt(id, [], Date.now() + 3_600_000);
      assert.deepEqual(await q.claimDue(Date.now(), 10), []);
      assert.equal(await q.requeue(id), true);
      assert.equal((await q.claimDue(Date.now(), 10)).length, 1, "requeued mail is due now");

      assert.equal(await q.markCorrupt(id), true);
      assert.equal((await q.counts()).corrupt, 1);
      assert.equal(await q.remove(id), true);
      assert.equal(await q.remove(id), false);
      assert.equal(await q.hold("NOSUCHID00"), false);
    });
  });

  test("list by queue and limit, oldest arrival first", async () => {
    await withQueue(async (q) => {
      const a = newQueueId(), b = newQueueId(), c = newQueueId();
      await q.enqueue(b, sampleEnvelope({ arrivalTime: 2 }), enc.encode("b"));
      await q.enqueue(a, sampleEnvelope({ arrivalTime: 1 }), enc.encode("a"));
      await q.enqueue(c, sampleEnvelope({ arrivalTime: 3 }), enc.encode("c"));
      await q.hold(c);
      assert.deepEqual((await q.list()).map((m) => m.id), [a, b, c]);
      assert.deepEqual((await q.list({ limit: 2 })).map((m) => m.id), [a, b]);
      assert.deepEqual((await q.list({ queue: "hold" })).map((m) => m.id), [c]);
      assert.deepEqual((await q.list({ queue: "incoming" })).map((m) => m.id), [a, b]);
    });
  });

  test("recoverActive makes messages left active by a crash due again", async () => {
    const dir = tempDataDir();
    try {
      let q = await openQueue(dir);
      const fresh = newQueueId(), tried = newQueueId();
      await q.enqueue(fresh, sampleEnvelope({ arrivalTime: 0 }), enc.encode("1"));
      await q.enqueue(tried, sampleEnvelope({ arrivalTime: 0 }), enc.encode("2"));
      await q.claimDue(1, 10);
      await q.recordAttempt(
        tried,
        [{ index: 0, status: "deferred", dsn: "4.0.0", reason: "x" }],
        1,
      );
      await q.claimDue(1, 10);
      await q.close(); // "crash" with both active

      q = await openQueue(dir);
      assert.equal((await q.counts()).active, 2);
      assert.equal(await q.recoverActive(), 2);
      assert.equal((await q.get(fresh))?.queue, "incoming");
      assert.equal((await q.get(tried))?.queue, "deferred");
      assert.equal((await q.claimDue(1, 10)).length, 2);
      await q.close();
    } finally {
      removeDir(dir);
    }
  });

  test("bad arguments are refused with a precise error before storage", async () => {
    await withQueue(async (q) => {
      await assert.rejects(
        q.enqueue("../x", sampleEnvelope(), enc.encode("x")),
        /invalid queue id/,
      );
      await assert.rejects(
        q.enqueue(newQueueId(), sampleEnvelope({ recipients: [] }), enc.encode("x")),
        /no recipients/,
      );
      await assert.rejects(
        q.enqueue(newQueueId(), sampleEnvelope({ recipients: [{ address: "" }] }), enc.encode("x")),
        /recipient #0 has no address/,
      );
      assert.equal((await q.list()).length, 0);
    });
  });

  test("a duplicate id is refused with 451 and the first message is kept", async () => {
    await withQueue(async (q) => {
      const id = newQueueId();
      await q.enqueue(id, sampleEnvelope(), enc.encode("first"));
      await assert.rejects(
        q.enqueue(id, sampleEnvelope(), enc.encode("second")),
        (err: unknown) => {
          const e = err as { code: number; enhanced: string };
          return e.code === 451 && e.enhanced === "4.3.0";
        },
      );
      assert.deepEqual(await q.content(id), enc.encode("first"));
    });
  });

  test("a closed queue refuses calls", async () => {
    const dir = tempDataDir();
    const q = await openQueue(dir);
    await q.close();
    await q.close(); // idempotent
    await assert.rejects(q.counts(), /queue is closed/);
    await assert.rejects(q.enqueue(newQueueId(), sampleEnvelope(), enc.encode("x")), /closed/);
    removeDir(dir);
  });

  test("close() commits enqueues still waiting for their group commit", async () => {
    const dir = tempDataDir();
    try {
      const q = await openQueue(dir);
      const id = newQueueId();
      const pending = q.enqueue(id, sampleEnvelope(), enc.encode("late"));
      await q.close();
      await pending;
      const again = await openQueue(dir);
      assert.deepEqual(await again.content(id), enc.encode("late"));
      await again.close();
    } finally {
      removeDir(dir);
    }
  });
}
