/**
 * Enqueue throughput, 4 KiB messages, durable (WAL, synchronous=FULL), with
 * SQLite on the caller's thread and in the queue worker.
 * Run: deno bench -A tests/queue/queue.bench.ts
 * "20 concurrent" runs 20 enqueues per iteration: enqueues/s = 20 x iter/s.
 * The worker adds a message round trip per call but frees the caller's thread
 * during every COMMIT; that freedom, not these rates, is why the server uses it.
 */
import { newQueueId, type QueueStore } from "../../src/queue/mod.ts";
import {
  contentFor,
  openTestQueue,
  QUEUE_THREADS,
  type QueueThread,
  sampleEnvelope,
} from "./helpers.ts";

const content = contentFor("bench", 4096);
const queues = new Map<QueueThread, { queue: QueueStore; dir: string }>();
for (const thread of QUEUE_THREADS) {
  const dir = Deno.makeTempDirSync({ prefix: `facteur-queue-bench-${thread}-` });
  queues.set(thread, { queue: await openTestQueue(thread, dir), dir });
}
globalThis.addEventListener("unload", () => {
  for (const { queue, dir } of queues.values()) {
    queue.close(); // the worker's thread ends with the process
    Deno.removeSync(dir, { recursive: true });
  }
});

function enqueueOne(queue: QueueStore): Promise<void> {
  return queue.enqueue(newQueueId(), sampleEnvelope({ arrivalTime: Date.now() }), content);
}

for (const [thread, { queue }] of queues) {
  Deno.bench(`enqueue 4 KiB, 1 caller, ${thread} thread`, {
    group: "1 caller",
    baseline: thread === "main",
  }, async () => {
    await enqueueOne(queue);
  });

  Deno.bench(`enqueue 4 KiB, 20 concurrent callers, ${thread} thread`, {
    group: "20 concurrent",
    baseline: thread === "main",
  }, async () => {
    await Promise.all(Array.from({ length: 20 }, () => enqueueOne(queue)));
  });
}
