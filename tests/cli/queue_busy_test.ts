/**
 * `facteur queue` against a database another process is writing: SQLite's
 * busy_timeout makes the command wait for the lock instead of failing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { queueActionCommand } from "../../src/cli/queue.ts";
import { newQueueId, openQueue } from "../../src/queue/mod.ts";
import { sampleEnvelope } from "../queue/helpers.ts";

const HOLDER = `
import { DatabaseSync } from "node:sqlite";
const db = new DatabaseSync(Deno.args[0]);
db.exec("BEGIN IMMEDIATE");
db.exec("UPDATE messages SET attempts = attempts");
console.log("locked");
await new Promise((r) => setTimeout(r, 800));
db.exec("COMMIT");
db.close();
`;

Deno.test("a queue command waits for another process's write lock (busy_timeout)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facteur-cli-" });
  const dataDir = join(dir, "data");
  const configFile = join(dir, "facteur.toml");
  await Deno.writeTextFile(configFile, `data_directory = "${dataDir}"\n`);
  const queue = openQueue(dataDir);
  const id = newQueueId();
  await queue.enqueue(id, sampleEnvelope(), new Uint8Array([120]));
  await queue.close();

  const holder = new Deno.Command(Deno.execPath(), {
    args: ["eval", HOLDER, join(dataDir, "queue.db")],
    stdout: "piped",
  }).spawn();
  const reader = holder.stdout.getReader();
  const first = await reader.read();
  assert.equal(new TextDecoder().decode(first.value).trim(), "locked");
  try {
    const started = Date.now();
    assert.equal(await queueActionCommand("hold", [id], configFile), 0);
    assert.ok(Date.now() - started >= 300, "it waited for the lock");
    const after = openQueue(dataDir);
    assert.equal((await after.get(id))?.queue, "hold");
    await after.close();
  } finally {
    reader.releaseLock();
    await holder.stdout.cancel();
    await holder.status;
    await Deno.remove(dir, { recursive: true });
  }
});
