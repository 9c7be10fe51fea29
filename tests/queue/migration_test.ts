import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SCHEMA_VERSION } from "../../src/queue/mod.ts";
import { migrate, schemaVersion } from "../../src/queue/schema.ts";
import { openTestQueue, QUEUE_THREADS, removeDir, tempDataDir } from "./helpers.ts";

for (const thread of QUEUE_THREADS) {
  Deno.test(`[${thread}] a version-1 queue database is migrated forward and keeps its mail`, async () => {
    const dir = tempDataDir();
    try {
      // Build a database as the first released schema left it, with one message in it.
      const old = new DatabaseSync(`${dir}/queue.db`);
      assert.equal(migrate(old, 1), 1);
      old.exec(`
        INSERT INTO messages (id, queue, sender, arrival_time, next_attempt, size, params)
          VALUES ('OLDMSG00001', 'deferred', 'a@example.com', 1000, 2000, 5, '{"envid":"E1"}');
        INSERT INTO contents VALUES ('OLDMSG00001', x'68656c6c6f');
        INSERT INTO recipients (message_id, idx, address, status) VALUES ('OLDMSG00001', 0, 'b@example.net', 'deferred');
      `);
      old.close();

      const q = await openTestQueue(thread, dir);
      const msg = await q.get("OLDMSG00001");
      assert.ok(msg);
      assert.equal(msg.queue, "deferred");
      assert.equal(msg.attempts, 0, "new column gets its default");
      assert.equal(msg.envelope.envid, "E1");
      assert.deepEqual(msg.envelope.recipients, [
        { index: 0, address: "b@example.net", status: "deferred", attempts: 0 },
      ]);
      assert.deepEqual(await q.content("OLDMSG00001"), new TextEncoder().encode("hello"));
      await q.claimDue(2000, 1);
      await q.recordAttempt("OLDMSG00001", [
        { index: 0, status: "deferred", dsn: "4.4.1", reason: "timeout" },
      ], 9000);
      assert.equal((await q.get("OLDMSG00001"))?.envelope.recipients[0].reason, "timeout");
      await q.close();

      const db = new DatabaseSync(`${dir}/queue.db`, { readOnly: true });
      assert.equal(schemaVersion(db), SCHEMA_VERSION);
      db.close();
    } finally {
      removeDir(dir);
    }
  });

  Deno.test(`[${thread}] a database from a newer version is refused, not touched`, async () => {
    const dir = tempDataDir();
    try {
      const db = new DatabaseSync(`${dir}/queue.db`);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
      db.close();
      await assert.rejects(
        openTestQueue(thread, dir),
        /schema version \d+ is newer than this program's/,
      );
    } finally {
      removeDir(dir);
    }
  });
}

Deno.test("a failing migration step is rolled back and named", () => {
  const dir = tempDataDir();
  try {
    const db = new DatabaseSync(`${dir}/queue.db`);
    db.exec("CREATE TABLE messages (x)"); // squatter: step 1 cannot create its table
    assert.throws(() => migrate(db), /migration 1 \(messages, contents, recipients\) failed/);
    assert.equal(schemaVersion(db), 0);
    db.close();
  } finally {
    removeDir(dir);
  }
});
