/**
 * The queue worker's entry for tests: under `deno test`, Deno.mainModule is a
 * test file, not mod.ts, so the tests name this module as workerEntry.
 */
import { runQueueWorker } from "../../src/queue/worker_main.ts";

runQueueWorker();
