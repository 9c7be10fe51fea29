// recordAttempt's extras: notices queued in the attempt's transaction, and the
// delay-warning flag (schema step 3), on both threads.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { type QueuedRecipient, SCHEMA_VERSION } from "../../src/queue/mod.ts";
import { migrate, schemaVersion } from "../../src/queue/schema.ts";
import { openTestQueue, QUEUE_THREADS, removeDir, sampleEnvelope, tempDataDir } from "./helpers.ts";

const enc = new TextEncoder();

for (const thread of QUEUE_THREADS) {
  Deno.test(`[${thread}] recordAttempt queues the notices with the results`, async () => {
    const dir = tempDataDir();
    const q = await openTestQueue(thread, dir);
    try {
      await q.enqueue("ORIGINAL0001", sampleEnvelope(), enc.encode("hello\r\n"));
      await q.claimDue(Date.now(), 10);
      const content = enc.encode("Subject: Undelivered\r\n\r\nreport\r\n");
      await q.recordAttempt(
        "ORIGINAL0001",
        [
          { index: 0, status: "bounced", dsn: "5.1.1", reason: "unknown" },
          { index: 1, status: "deferred", dsn: "4.4.1", reason: "timeout" },
        ],
        5000,
        {
          notices: [{
            id: "NOTICE000001",
            envelope: {
              sender: "",
              recipients: [{ address: "alice@example.com" }],
              arrivalTime: 42,
            },
            content,
          }],
          delayWarned: true,
        },
      );
      const original = await q.get("ORIGINAL0001");
      assert.deepEqual(original?.envelope.recipients.map((r: QueuedRecipient) => r.status), [
        "bounced",
        "deferred",
      ]);
      assert.equal(original?.delayWarned, true);
      const notice = await q.get("NOTICE000001");
      assert.equal(notice?.queue, "incoming");
      assert.equal(notice?.nextAttempt, 42, "due at once");
      assert.equal(notice?.envelope.sender, "");
      assert.equal(notice?.delayWarned, undefined);
      assert.deepEqual(await q.content("NOTICE000001"), content);
    } finally {
      await q.close();
      removeDir(dir);
    }
  });

  Deno.test(`[${thread}] a bad notice is refused before anything is written`, async () => {
    const dir = tempDataDir();
    const q = await openTestQueue(thread, dir);
    try {
      await q.enqueue("ORIGINAL0002", sampleEnvelope(), enc.encode("hello\r\n"));
      await assert.rejects(
        q.recordAttempt(
          "ORIGINAL0002",
          [
            { index: 0, status: "bounced", dsn: "5.1.1", reason: "unknown" },
          ],
          5000,
          {
            notices: [{
              id: "NOTICE000002",
              envelope: { sender: "", recipients: [], arrivalTime: 42 },
              content: enc.encode("x"),
            }],
          },
        ),
        /envelope has no recipients/,
      );
      assert.equal((await q.get("ORIGINAL0002"))?.envelope.recipients[0].status, "pending");
      assert.equal(await q.get("NOTICE000002"), undefined);
    } finally {
      await q.close();
      removeDir(dir);
    }
  });

  Deno.test(`[${thread}] a version-2 database gains the delay-warning flag, unset`, async () => {
    const dir = tempDataDir();
    try {
      const old = new DatabaseSync(`${dir}/queue.db`);
      assert.equal(migrate(old, 2), 2);
      old.exec(`
        INSERT INTO messages (id, queue, sender, arrival_time, next_attempt, size, params, attempts)
          VALUES ('OLDMSG00002', 'deferred', 'a@example.com', 1000, 2000, 5, '{}', 3);
        INSERT INTO contents VALUES ('OLDMSG00002', x'68656c6c6f');
        INSERT INTO recipients (message_id, idx, address, status) VALUES ('OLDMSG00002', 0, 'b@example.net', 'deferred');
      `);
      old.close();

      const q = await openTestQueue(thread, dir);
      const msg = await q.get("OLDMSG00002");
      assert.equal(msg?.attempts, 3);
      assert.equal(msg?.delayWarned, undefined);
      await q.claimDue(2000, 1);
      await q.recordAttempt(
        "OLDMSG00002",
        [
          { index: 0, status: "deferred", dsn: "4.4.1", reason: "timeout" },
        ],
        9000,
        { delayWarned: true },
      );
      assert.equal((await q.get("OLDMSG00002"))?.delayWarned, true);
      await q.close();

      const db = new DatabaseSync(`${dir}/queue.db`, { readOnly: true });
      assert.equal(schemaVersion(db), SCHEMA_VERSION);
      assert.equal(SCHEMA_VERSION, 3);
      db.close();
    } finally {
      removeDir(dir);
    }
  });
}
