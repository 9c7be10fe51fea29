/**
 * A queue worker that crashes (an uncaught error, as a bug or an out-of-memory
 * would end it) when asked to `remove` anything: for the worker-death tests.
 */
import { runQueueWorker } from "../../src/queue/worker_main.ts";

runQueueWorker();
const scope = globalThis as unknown as { onmessage: (event: MessageEvent) => void };
const serve = scope.onmessage;
scope.onmessage = (event) => {
  const requests = event.data as { method: string }[];
  if (requests.some((r) => r.method === "remove")) throw new Error("simulated queue worker crash");
  serve(event);
};
