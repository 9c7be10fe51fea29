/** Shared fixtures for the queue tests. */
import {
  type Envelope,
  openQueue,
  type QueueStore,
  type SqliteQueueOptions,
} from "../../src/queue/mod.ts";

/** Where the store runs: on the test's thread (SqliteQueueStore) or in a worker (WorkerQueueStore). */
export type QueueThread = "main" | "worker";
export const QUEUE_THREADS: readonly QueueThread[] = ["main", "worker"];

/** Runs the worker main (under `deno test`, Deno.mainModule is the test file, not mod.ts). */
export const WORKER_ENTRY = new URL("./worker_entry.ts", import.meta.url);

/** openQueue on either thread; a worker one is ready (database open) when this resolves. */
export function openTestQueue(
  thread: QueueThread,
  dir: string,
  options: SqliteQueueOptions = {},
): Promise<QueueStore> {
  if (thread === "worker") {
    return openQueue(dir, { ...options, thread: "worker", workerEntry: WORKER_ENTRY });
  }
  try {
    return Promise.resolve(openQueue(dir, options));
  } catch (err) {
    return Promise.reject(err);
  }
}

export function tempDataDir(): string {
  return Deno.makeTempDirSync({ prefix: "facteur-queue-test-" });
}

export function removeDir(dir: string): void {
  Deno.removeSync(dir, { recursive: true });
}

export function sampleEnvelope(overrides: Partial<Envelope> = {}): Envelope {
  return {
    sender: "alice@example.com",
    recipients: [{ address: "bob@example.net" }, { address: "carol@example.org" }],
    arrivalTime: 1_700_000_000_000,
    ...overrides,
  };
}

/** Deterministic bytes (all 256 values occur) so a reader can check integrity from the id alone. */
export function contentFor(id: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let h = 2166136261;
  for (const ch of id) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  for (let i = 0; i < size; i++) {
    h = Math.imul(h ^ i, 16777619);
    out[i] = h >>> 24;
  }
  return out;
}

export function sizeFor(id: string): number {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return 100 + (h % 8000);
}
