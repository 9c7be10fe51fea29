// The durability contract for local delivery: a crash after a Maildir file is
// linked into new/ but before the queue records the recipient must not give
// a second copy when the message is delivered again after the restart.
import assert from "node:assert/strict";
import { join } from "node:path";
import { DeliveryLoop } from "../../src/qmgr/mod.ts";
import type { QueueStore } from "../../src/queue/mod.ts";
import { Rewriter } from "../../src/rewrite/mod.ts";
import { LocalTransport } from "../../src/transports/local/mod.ts";
import { testConfig, testTables } from "../rewrite/helpers.ts";
import { harness, waitFor } from "./helpers.ts";

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

/** The queue as seen by a process that dies before it can record any result. */
function dyingBeforeRecord(queue: QueueStore): QueueStore {
  return new Proxy(queue, {
    get(target, prop) {
      if (prop === "recordAttempt") return () => Promise.reject(new Error("killed"));
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

Deno.test("qmgr + local: a crash between Maildir delivery and the queue update gives no duplicate", async () => {
  const h = await harness();
  const home = join(h.dir, "home");
  const config = testConfig({
    local_home_base: home,
    home_mailbox: "Maildir/",
    local_recipient_maps: "inline:{alice=1, bob=1}",
    alias_maps: "inline:{ {team = alice, bob} }",
  });
  const rewrite = new Rewriter(config, { openTable: testTables().open });
  const local = new LocalTransport(config, {
    openTable: testTables().open,
    rewrite,
    passwdFile: "/nonexistent",
  });
  const options = { ...h.loopOptions, config, rewrite, transports: { local } };
  const id = await h.enqueue(["alice@localhost", "team@localhost"]);

  // First life: delivers, then dies before recording (the message stays active).
  await new DeliveryLoop({ ...options, queue: dyingBeforeRecord(h.queue) }).runOnce();
  assert.equal((await h.queue.get(id))?.queue, "active");
  const alice = join(home, "alice", "Maildir");
  const bob = join(home, "bob", "Maildir");
  // Two envelope recipients reach alice: two requests (local_destination_recipient_limit 1),
  // two copies, as with Postfix.
  assert.equal((await names(join(alice, "new"))).length, 2);
  assert.equal((await names(join(bob, "new"))).length, 1);
  // Meanwhile a mail reader marks one of alice's messages as seen.
  const [first] = await names(join(alice, "new"));
  await Deno.rename(join(alice, "new", first), join(alice, "cur", `${first}:2,S`));

  // Second life: recovery makes it due again; nothing is delivered twice.
  const restarted = new DeliveryLoop({ ...options, queue: h.queue });
  restarted.start();
  await waitFor(async () => (await h.queue.get(id)) === undefined);
  await restarted.stop();
  assert.equal((await names(join(alice, "new"))).length, 1);
  assert.deepEqual(await names(join(alice, "cur")), [`${first}:2,S`]);
  assert.equal((await names(join(bob, "new"))).length, 1);
  assert.deepEqual(await names(join(alice, "tmp")), []);
  const lines = h.log.filter((l) => l.includes("already delivered by an earlier attempt"));
  assert.equal(lines.length, 2, h.log.join("\n"));
  await h.close();
});
