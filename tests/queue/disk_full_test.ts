/** Disk full, simulated with a database size cap (PRAGMA max_page_count): SQLite reports SQLITE_FULL exactly as for ENOSPC. */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { MailError } from "../../src/errors.ts";
import { newQueueId } from "../../src/queue/mod.ts";
import {
  contentFor,
  openTestQueue,
  QUEUE_THREADS,
  removeDir,
  sampleEnvelope,
  tempDataDir,
} from "./helpers.ts";

function rowCounts(path: string) {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const n = (table: string) =>
      (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { messages: n("messages"), contents: n("contents"), recipients: n("recipients") };
  } finally {
    db.close();
  }
}

// Through the worker too: the MailError must keep its 452 4.3.1 across the thread boundary.
for (const thread of QUEUE_THREADS) {
  Deno.test(`[${thread}] disk full: 452 4.3.1, nothing half-stored, and the queue keeps working`, async () => {
    const dir = tempDataDir();
    const q = await openTestQueue(thread, dir, { maxSizeBytes: 256 * 1024 });
    try {
      const small1 = newQueueId(), big = newQueueId(), small2 = newQueueId();
      const results = await Promise.allSettled([
        q.enqueue(small1, sampleEnvelope(), contentFor(small1, 2000)),
        q.enqueue(big, sampleEnvelope(), contentFor(big, 1024 * 1024)),
        q.enqueue(small2, sampleEnvelope(), contentFor(small2, 2000)),
      ]);
      assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
      const err = (results[1] as PromiseRejectedResult).reason;
      assert.ok(err instanceof MailError);
      assert.equal(err.reply, "452 4.3.1 Insufficient system storage");
      assert.equal(err.temporary, true);

      assert.equal(await q.get(big), undefined);
      // No orphan content or recipient rows of the refused message.
      assert.deepEqual(rowCounts(`${dir}/queue.db`), { messages: 2, contents: 2, recipients: 4 });

      // Still works: small mail fits, delivery bookkeeping works, space is reused after removal.
      const after = newQueueId();
      await q.enqueue(after, sampleEnvelope(), contentFor(after, 2000));
      assert.deepEqual(await q.content(after), contentFor(after, 2000));
      assert.deepEqual(await q.content(small1), contentFor(small1, 2000));
      await q.remove(small1);
      assert.equal((await q.list()).length, 2);
    } finally {
      await q.close();
      removeDir(dir);
    }
  });

  Deno.test(`[${thread}] disk full on a lone message`, async () => {
    const dir = tempDataDir();
    const q = await openTestQueue(thread, dir, { maxSizeBytes: 128 * 1024 });
    try {
      const id = newQueueId();
      await assert.rejects(q.enqueue(id, sampleEnvelope(), contentFor(id, 512 * 1024)), {
        code: 452,
        enhanced: "4.3.1",
      });
      assert.deepEqual(await q.counts(), {
        incoming: 0,
        active: 0,
        deferred: 0,
        hold: 0,
        corrupt: 0,
      });
      assert.deepEqual(rowCounts(`${dir}/queue.db`), { messages: 0, contents: 0, recipients: 0 });
    } finally {
      await q.close();
      removeDir(dir);
    }
  });
}
