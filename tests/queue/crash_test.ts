/**
 * Crash safety: SIGKILL a process that is enqueueing; every id it reported as
 * stored must be there byte for byte, and nothing may be half-written.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { DatabaseSync } from "node:sqlite";
import { openQueue } from "../../src/queue/mod.ts";
import {
  contentFor,
  QUEUE_THREADS,
  type QueueThread,
  removeDir,
  sizeFor,
  tempDataDir,
} from "./helpers.ts";

const WRITER = fileURLToPath(new URL("./crash_writer.ts", import.meta.url));
// A worker loads its modules with the permission a file read needs: let it read the sources.
const SOURCES = fileURLToPath(new URL("../../", import.meta.url));
const KILL_AFTER = 400; // acknowledged ids before the kill

async function runAndKill(dir: string, thread: QueueThread): Promise<string[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-check",
      `--allow-read=${dir},${SOURCES}`,
      `--allow-write=${dir}`,
      WRITER,
      dir,
      thread,
    ],
    stdout: "piped",
    stderr: "inherit",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).spawn();
  const acknowledged: string[] = [];
  let buffered = "";
  let killed = false;
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    const lines = buffered.split("\n");
    buffered = lines.pop()!; // an unfinished line is not an acknowledgement
    acknowledged.push(...lines);
    if (!killed && acknowledged.length >= KILL_AFTER) {
      killed = true;
      // A random extra delay so the kill lands anywhere, often inside a commit.
      setTimeout(() => child.kill("SIGKILL"), Math.random() * 15);
    }
  }
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL", "the writer died by SIGKILL, not by itself");
  return acknowledged;
}

// Needs --allow-run for the child; shown as "ignored" (not passed) without it.
const canRun = Deno.permissions.querySync({ name: "run" }).state === "granted";

// In the worker, the kill lands on a process whose writes happen on another thread.
for (const thread of QUEUE_THREADS) {
  Deno.test({
    name:
      `[${thread}] SIGKILL while enqueueing loses no acknowledged message and leaves no partial one`,
    ignore: !canRun,
  }, async () => {
    const dir = tempDataDir();
    try {
      // Three kills on the same database: recovery after a crash must also survive a crash.
      const acknowledged: string[] = [];
      for (let round = 0; round < 3; round++) acknowledged.push(...await runAndKill(dir, thread));
      assert.ok(acknowledged.length >= 3 * KILL_AFTER);

      const q = openQueue(dir);
      try {
        const stored = await q.list();
        const storedIds = new Set(stored.map((m) => m.id));
        for (const id of acknowledged) assert.ok(storedIds.has(id), `acknowledged ${id} lost`);
        // Every stored message, acknowledged or not, is complete.
        for (const msg of stored) {
          const size = sizeFor(msg.id);
          assert.equal(msg.size, size);
          assert.equal(msg.envelope.recipients.length, 2);
          assert.deepEqual(await q.content(msg.id), contentFor(msg.id, size), msg.id);
        }
      } finally {
        await q.close();
      }
      const db = new DatabaseSync(`${dir}/queue.db`, { readOnly: true });
      const check = db.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
      const orphans = db.prepare(
        "SELECT count(*) AS n FROM contents WHERE message_id NOT IN (SELECT id FROM messages)",
      ).get() as { n: number };
      db.close();
      assert.equal(check.integrity_check, "ok");
      assert.equal(orphans.n, 0);
    } finally {
      removeDir(dir);
    }
  });
}
