/**
 * Enqueue throughput, 4 KiB messages, durable (WAL, synchronous=FULL).
 * Run: deno bench --allow-read --allow-write tests/queue/queue.bench.ts
 * "20 concurrent" runs 20 enqueues per iteration: enqueues/s = 20 x iter/s.
 */
import { newQueueId, openQueue } from "../../src/queue/mod.ts";
import { contentFor, sampleEnvelope } from "./helpers.ts";

const dir = Deno.makeTempDirSync({ prefix: "facteur-queue-bench-" });
const queue = openQueue(dir);
const content = contentFor("bench", 4096);
globalThis.addEventListener("unload", () => {
  queue.close();
  Deno.removeSync(dir, { recursive: true });
});

function enqueueOne(): Promise<void> {
  return queue.enqueue(newQueueId(), sampleEnvelope({ arrivalTime: Date.now() }), content);
}

Deno.bench("enqueue 4 KiB, 1 caller", { group: "enqueue", baseline: true }, async () => {
  await enqueueOne();
});

Deno.bench(
  "enqueue 4 KiB, 20 concurrent callers (20 per iteration)",
  { group: "enqueue" },
  async () => {
    await Promise.all(Array.from({ length: 20 }, enqueueOne));
  },
);
