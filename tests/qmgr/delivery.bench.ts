// Local Maildir delivery throughput of the delivery loop: 2000 queued 4 KiB
// messages through the real SQLite queue and local(8) transport.
//   deno bench -A tests/qmgr/delivery.bench.ts
// "one at a time" (maxActive 1) is how the loop worked before it delivered
// messages concurrently.
import { join } from "node:path";
import { DeliveryLoop } from "../../src/qmgr/mod.ts";
import { newQueueId, openQueue } from "../../src/queue/mod.ts";
import { Rewriter } from "../../src/rewrite/mod.ts";
import { LocalTransport } from "../../src/transports/local/mod.ts";
import { testConfig, testTables } from "../rewrite/helpers.ts";

const MESSAGES = 2000;
const BODY = new TextEncoder().encode(
  "Subject: bench\r\n\r\n" + ("x".repeat(78) + "\r\n").repeat(51), // 4 KiB
);

async function run(
  b: Deno.BenchContext,
  opts: { users: number; values?: Record<string, string>; maxActive?: number },
) {
  const dir = await Deno.makeTempDir({ prefix: "facteur-bench-" });
  const users = Array.from({ length: opts.users }, (_, i) => `user${i}`);
  const config = testConfig({
    local_home_base: join(dir, "home"),
    home_mailbox: "Maildir/",
    local_recipient_maps: `inline:{${users.map((u) => `${u}=1`).join(", ")}}`,
    ...opts.values,
  });
  const tables = testTables();
  const rewrite = new Rewriter(config, { openTable: tables.open });
  const queue = openQueue(join(dir, "data"));
  await Promise.all(Array.from({ length: MESSAGES }, (_, i) =>
    queue.enqueue(newQueueId(), {
      sender: "bench@example.org",
      recipients: [{ address: `${users[i % users.length]}@localhost` }],
      arrivalTime: Date.now(),
    }, BODY)));
  const local = new LocalTransport(config, {
    openTable: tables.open,
    rewrite,
    passwdFile: "/nonexistent",
  });
  const loop = new DeliveryLoop({
    config,
    queue,
    rewrite,
    transports: { local },
    maxActive: opts.maxActive,
  });
  b.start();
  const handled = await loop.runOnce();
  b.end();
  const left = (await queue.counts()).deferred;
  await queue.close();
  await Deno.remove(dir, { recursive: true });
  if (handled !== MESSAGES || left !== 0) {
    throw new Error(`handled ${handled} messages, ${left} deferred`);
  }
}

const group = "2000 x 4 KiB, local Maildir";
Deno.bench({
  name: "one at a time (maxActive 1), 1 user",
  group,
  baseline: true,
  n: 1,
  warmup: 0,
  fn: async (b) => await run(b, { users: 1, maxActive: 1 }),
});
Deno.bench({
  name: "concurrent, 1 user (local_destination_concurrency_limit 2)",
  group,
  n: 1,
  warmup: 0,
  fn: async (b) => await run(b, { users: 1 }),
});
Deno.bench({
  name: "concurrent, 1 user, local_destination_concurrency_limit 20",
  group,
  n: 1,
  warmup: 0,
  fn: async (b) =>
    await run(b, { users: 1, values: { local_destination_concurrency_limit: "20" } }),
});
Deno.bench({
  name: "concurrent, 20 users",
  group,
  n: 1,
  warmup: 0,
  fn: async (b) => await run(b, { users: 20 }),
});
