import assert from "node:assert/strict";
import { MailError } from "../../src/errors.ts";
import { GroupCommitter, type TransactionHost } from "../../src/queue/group_commit.ts";
import { newQueueId } from "../../src/queue/mod.ts";
import {
  contentFor,
  openTestQueue,
  QUEUE_THREADS,
  removeDir,
  sampleEnvelope,
  tempDataDir,
} from "./helpers.ts";

// Through the worker too: calls made in one turn reach it in one message (src/queue/outbox.ts).
for (const thread of QUEUE_THREADS) {
  Deno.test(`[${thread}] 20 concurrent enqueues are written in one transaction and all resolve after it`, async () => {
    const dir = tempDataDir();
    const batches: number[] = [];
    const q = await openTestQueue(thread, dir, { onFlush: (n) => batches.push(n) });
    try {
      const ids = Array.from({ length: 20 }, () => newQueueId());
      await Promise.all(ids.map((id) => q.enqueue(id, sampleEnvelope(), contentFor(id, 4096))));
      assert.deepEqual(batches, [20]);
      for (const id of ids) assert.deepEqual(await q.content(id), contentFor(id, 4096));
      // A later, lone enqueue is its own batch.
      await q.enqueue(newQueueId(), sampleEnvelope(), contentFor("x", 10));
      assert.deepEqual(batches, [20, 1]);
    } finally {
      await q.close();
      removeDir(dir);
    }
  });

  Deno.test(`[${thread}] one failing operation in a batch is rolled back alone; the others commit`, async () => {
    const dir = tempDataDir();
    const batches: number[] = [];
    const q = await openTestQueue(thread, dir, { onFlush: (n) => batches.push(n) });
    try {
      const dup = newQueueId();
      await q.enqueue(dup, sampleEnvelope(), contentFor(dup, 10));
      const ok1 = newQueueId(), ok2 = newQueueId();
      const results = await Promise.allSettled([
        q.enqueue(ok1, sampleEnvelope(), contentFor(ok1, 100)),
        q.enqueue(dup, sampleEnvelope(), contentFor("other", 100)), // PRIMARY KEY violation
        q.enqueue(ok2, sampleEnvelope(), contentFor(ok2, 100)),
      ]);
      assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
      assert.deepEqual(batches, [1, 3]);
      assert.deepEqual(await q.content(dup), contentFor(dup, 10));
      assert.deepEqual(await q.content(ok2), contentFor(ok2, 100));
      assert.equal((await q.list()).length, 3);
    } finally {
      await q.close();
      removeDir(dir);
    }
  });

  Deno.test(`[${thread}] store maps SQLite failures to MailError 451 4.3.0`, async () => {
    const dir = tempDataDir();
    const q = await openTestQueue(thread, dir);
    try {
      const id = newQueueId();
      await q.enqueue(id, sampleEnvelope(), contentFor(id, 1));
      const err = await q.enqueue(id, sampleEnvelope(), contentFor(id, 1)).catch((e) => e);
      assert.ok(err instanceof MailError);
      assert.match(err.reply, /^451 4\.3\.0 Queue file write error: .*UNIQUE/);
    } finally {
      await q.close();
      removeDir(dir);
    }
  });
}

/** A fake database whose transaction vanishes when an operation says so (as SQLITE_FULL may do). */
function fakeHost(log: string[]): TransactionHost & { open: boolean } {
  const host = {
    open: false,
    begin() {
      log.push("BEGIN");
      host.open = true;
    },
    commit() {
      log.push("COMMIT");
      host.open = false;
    },
    rollback() {
      log.push("ROLLBACK");
      host.open = false;
    },
    savepoint() {},
    releaseSavepoint() {},
    rollbackToSavepoint() {
      log.push("ROLLBACK TO");
    },
    inTransaction: () => host.open,
  };
  return host;
}

Deno.test("when the database aborts the whole transaction, the other operations are redone", async () => {
  const log: string[] = [];
  const host = fakeHost(log);
  const committer = new GroupCommitter(host);
  const runs: string[] = [];
  const results = await Promise.allSettled([
    committer.run(() => {
      runs.push("a");
      log.push("a");
      return "A";
    }),
    committer.run(() => {
      runs.push("b");
      host.open = false; // the engine rolled everything back
      throw new Error("database or disk is full");
    }),
    committer.run(() => {
      runs.push("c");
      log.push("c");
      return "C";
    }),
  ]);
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
  assert.deepEqual(runs, ["a", "b", "a", "c"], "a is written again in the second transaction");
  assert.deepEqual(log, ["BEGIN", "a", "BEGIN", "a", "c", "COMMIT"]);
});

Deno.test("a failed COMMIT rejects every operation of the batch", async () => {
  const log: string[] = [];
  const host = fakeHost(log);
  host.commit = () => {
    throw new Error("disk I/O error");
  };
  const committer = new GroupCommitter(host);
  const results = await Promise.allSettled([committer.run(() => 1), committer.run(() => 2)]);
  assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected"]);
  assert.deepEqual(log, ["BEGIN", "ROLLBACK"]);
});
