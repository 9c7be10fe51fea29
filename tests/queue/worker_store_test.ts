/** What only the worker-backed store has: a thread boundary, and a thread that can die. */
import assert from "node:assert/strict";
import { MailError } from "../../src/errors.ts";
import { newQueueId, openQueue } from "../../src/queue/mod.ts";
import {
  contentFor,
  openTestQueue,
  removeDir,
  sampleEnvelope,
  tempDataDir,
  WORKER_ENTRY,
} from "./helpers.ts";

const DYING_ENTRY = new URL("./dying_worker_entry.ts", import.meta.url);

/** Fails instead of hanging: a dead worker must never leave a caller waiting. */
function settlesWithin<T>(promise: Promise<T>, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function isWorkerDeath(err: unknown): boolean {
  return err instanceof MailError && err.code === 451 && err.enhanced === "4.3.0" &&
    /queue worker died: .*simulated queue worker crash/.test(err.message);
}

Deno.test("a worker that dies fails every pending and later call with 451 4.3.0", async () => {
  const dir = tempDataDir();
  const deaths: MailError[] = [];
  const q = await openQueue(dir, {
    thread: "worker",
    workerEntry: DYING_ENTRY,
    onWorkerDeath: (e) => deaths.push(e),
  });
  try {
    const kept = newQueueId();
    await q.enqueue(kept, sampleEnvelope(), contentFor(kept, 100));
    // The worker throws while handling remove: that call is never answered by it.
    const calls = [q.remove(kept), q.counts(), q.get(kept)];
    const results = await settlesWithin(Promise.allSettled(calls));
    assert.equal(results[0].status, "rejected");
    assert.ok(isWorkerDeath((results[0] as PromiseRejectedResult).reason));
    // Posted after remove, so never read by the worker.
    for (const r of results.slice(1)) {
      assert.ok(r.status === "rejected" && isWorkerDeath(r.reason), String(r.status));
    }
    // Later calls fail at once, the same way.
    await assert.rejects(settlesWithin(q.list()), isWorkerDeath);
    await assert.rejects(
      settlesWithin(q.enqueue(newQueueId(), sampleEnvelope(), contentFor("x", 10))),
      isWorkerDeath,
    );
    assert.equal(deaths.length, 1);
    assert.ok(isWorkerDeath(deaths[0]));
  } finally {
    await settlesWithin(q.close());
  }
  // What was committed before the crash is there.
  const again = await openTestQueue("worker", dir);
  try {
    assert.equal((await again.list()).length, 1);
  } finally {
    await again.close();
    removeDir(dir);
  }
});

Deno.test("a worker entry that cannot be loaded makes openQueue reject with 451 4.3.0", async () => {
  const dir = tempDataDir();
  try {
    const missing = new URL("./no_such_worker_entry.ts", import.meta.url);
    await assert.rejects(
      settlesWithin(openQueue(dir, { thread: "worker", workerEntry: missing })),
      (err: unknown) =>
        // The reason is Deno's (module not found, or its type check failing under deno test).
        err instanceof MailError && err.reply.startsWith("451 4.3.0 Queue file write error: ") &&
        /queue worker died: /.test(err.message),
    );
  } finally {
    removeDir(dir);
  }
});

Deno.test("content crosses the thread boundary as a copy: the caller's bytes stay usable", async () => {
  const dir = tempDataDir();
  const q = await openQueue(dir, { thread: "worker", workerEntry: WORKER_ENTRY });
  try {
    const id = newQueueId();
    const buffer = contentFor(id, 1000);
    const view = buffer.subarray(100, 300); // only these bytes are the message
    await q.enqueue(id, sampleEnvelope(), view);
    assert.equal(view.byteLength, 200, "not detached by the transfer");
    assert.deepEqual(buffer, contentFor(id, 1000), "the caller's buffer is untouched");
    assert.deepEqual(await q.content(id), contentFor(id, 1000).subarray(100, 300));
    assert.equal((await q.get(id))?.size, 200);
  } finally {
    await q.close();
    removeDir(dir);
  }
});

Deno.test("an argument that cannot cross the boundary is refused, and spoils no other call", async () => {
  const dir = tempDataDir();
  const q = await openQueue(dir, { thread: "worker", workerEntry: WORKER_ENTRY });
  try {
    const envelope = { ...sampleEnvelope(), client: { address: "127.0.0.1", hook: () => 1 } };
    // Made in one turn, the two calls travel in one message.
    const sent = newQueueId();
    const [good, bad] = await Promise.allSettled([
      q.enqueue(sent, sampleEnvelope(), contentFor(sent, 500)),
      q.enqueue(newQueueId(), envelope, contentFor("a", 10)),
    ]);
    assert.ok(bad.status === "rejected" && /could not be cloned/.test(String(bad.reason)));
    // Its companion is stored whole, or refused with 451 (its bytes were moved with the
    // failed message), never stored with lost content.
    if (good.status === "fulfilled") {
      assert.deepEqual(await q.content(sent), contentFor(sent, 500));
    } else {
      assert.ok(good.reason instanceof MailError && good.reason.code === 451, String(good.reason));
      assert.equal(await q.get(sent), undefined);
    }
    const id = newQueueId();
    await q.enqueue(id, sampleEnvelope(), contentFor(id, 10));
    assert.deepEqual(await q.content(id), contentFor(id, 10));
  } finally {
    await q.close();
    removeDir(dir);
  }
});

Deno.test("with restartLimit, a dead worker is replaced: calls in flight fail, later ones work", async () => {
  const dir = tempDataDir();
  const deaths: MailError[] = [];
  const restarts: MailError[] = [];
  const q = await openQueue(dir, {
    thread: "worker",
    workerEntry: DYING_ENTRY,
    restartLimit: 2,
    onWorkerDeath: (e) => deaths.push(e),
    onWorkerRestart: (e) => restarts.push(e),
  });
  try {
    const kept = newQueueId();
    await q.enqueue(kept, sampleEnvelope(), contentFor(kept, 100));
    await assert.rejects(settlesWithin(q.remove(kept)), isWorkerDeath);
    // Made while the replacement opens the database: it waits for it, then succeeds.
    assert.equal((await settlesWithin(q.list())).length, 1, "committed data survived");
    assert.equal(restarts.length, 1);
    assert.ok(isWorkerDeath(restarts[0]));
    // The budget: a second restart, then dead for good at the third death.
    await assert.rejects(settlesWithin(q.remove(kept)), isWorkerDeath);
    const counts = await settlesWithin(q.counts());
    assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 1, "works after the second");
    await assert.rejects(settlesWithin(q.remove(kept)), isWorkerDeath);
    await assert.rejects(settlesWithin(q.get(kept)), isWorkerDeath);
    assert.equal(restarts.length, 2);
    assert.equal(deaths.length, 1, "told once, when no restart is left");
  } finally {
    await settlesWithin(q.close());
    removeDir(dir);
  }
});
