import assert from "node:assert/strict";
import { type ListOptions, newQueueId, type QueueStore } from "../../src/queue/mod.ts";
import { openTestQueue, QUEUE_THREADS, removeDir, tempDataDir } from "./helpers.ts";

const T = 1_800_000_000_000;
const MIN = 60_000;

// Filters run in SQL on either thread; the worker carries the options and shape() across.
for (const thread of QUEUE_THREADS) {
  const test = (name: string, fn: (q: QueueStore) => Promise<void>) =>
    Deno.test(`[${thread}] ${name}`, async () => {
      const dir = tempDataDir();
      const q = await openTestQueue(thread, dir);
      try {
        await fn(q);
      } finally {
        await q.close();
        removeDir(dir);
      }
    });

  const add = async (q: QueueStore, sender: string, rcpts: string[], arrivalTime: number) => {
    const id = newQueueId();
    const recipients = rcpts.map((address) => ({ address }));
    await q.enqueue(id, { sender, recipients, arrivalTime }, new TextEncoder().encode("x\r\n"));
    return id;
  };
  const ids = async (q: QueueStore, options: ListOptions) =>
    (await q.list(options)).map((m) => m.id);

  test("list filters by sender, recipient, domain and arrival time, in SQL", async (q) => {
    const a = await add(q, "Alice@Example.org", ["bob@example.net"], T - 60 * MIN);
    const b = await add(q, "", ["carol@EXAMPLE.org", "dan@100%_.test"], T - 30 * MIN);
    const c = await add(q, "zed@example.org", ["erin@example.net"], T);
    await q.hold(c);
    assert.deepEqual(await ids(q, {}), [a, b, c]);
    assert.deepEqual(await ids(q, { sender: "alice@EXAMPLE.ORG" }), [a]);
    assert.deepEqual(await ids(q, { sender: "" }), [b]);
    assert.deepEqual(await ids(q, { recipient: "Carol@example.ORG" }), [b]);
    assert.deepEqual(await ids(q, { domain: "example.net" }), [a, c]);
    assert.deepEqual(await ids(q, { domain: "100%_.test" }), [b], "LIKE wildcards are literal");
    assert.deepEqual(await ids(q, { domain: "1000x.test" }), []);
    assert.deepEqual(await ids(q, { arrivedBefore: T - 30 * MIN }), [a, b]);
    assert.deepEqual(await ids(q, { arrivedAfter: T - 30 * MIN }), [b, c]);
    assert.deepEqual(await ids(q, { queue: "hold", domain: "example.net" }), [c]);
    assert.deepEqual(await ids(q, { after: { arrivalTime: T - 60 * MIN, id: a } }), [b, c]);
    assert.deepEqual(await ids(q, { after: { arrivalTime: T - 30 * MIN, id: b }, limit: 1 }), [c]);
    assert.deepEqual(await ids(q, { limit: 2 }), [a, b], "the existing options keep their meaning");
    assert.deepEqual(await ids(q, { queue: "incoming" }), [a, b]);
  });

  test("list refuses malformed options with a precise error", async (q) => {
    await assert.rejects(q.list({ queue: "nope" as never }), RangeError);
    await assert.rejects(q.list({ limit: 1.5 }), RangeError);
    await assert.rejects(q.list({ domain: "" }), /empty domain/);
    await assert.rejects(q.list({ sender: 5 as never }), TypeError);
    await assert.rejects(q.list({ arrivedBefore: NaN }), RangeError);
    await assert.rejects(q.list({ after: { arrivalTime: 1, id: 2 as never } }), TypeError);
  });

  test("shape counts undelivered recipients per domain and qshape age bucket", async (q) => {
    const a = await add(
      q,
      "s@x.test",
      ["a@Example.net", "b@example.net", "c@example.org"],
      T - 2 * MIN,
    );
    await add(q, "s@x.test", ["d@example.net"], T - 1281 * MIN);
    await add(q, "s@x.test", ["e@example.org"], T + 5 * MIN); // clock skew: counts as new
    await q.claimDue(T + 10 * MIN, 10);
    await q.recordAttempt(a, [{ index: 1, status: "sent", dsn: "2.0.0", reason: "ok" }], T);
    await q.recoverActive();
    const rows = (await q.shape!(undefined, T)).sort((x, y) => x.domain < y.domain ? -1 : 1);
    assert.deepEqual(rows, [
      { domain: "example.net", counts: [1, 0, 0, 0, 0, 0, 0, 0, 0, 1] },
      { domain: "example.org", counts: [2, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
    assert.deepEqual(await q.shape!("hold", T), []);
    await assert.rejects(q.shape!("limbo" as never, T), RangeError);
    await assert.rejects(q.shape!(undefined, NaN), RangeError);
  });
}
