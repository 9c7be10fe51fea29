/**
 * The mail queue: durable storage of envelopes and content between cleanup
 * and delivery. SQLite is the embedded default backend.
 */
import { join } from "node:path";
import { type SqliteQueueOptions, SqliteQueueStore } from "./sqlite_store.ts";
import type { QueueStore } from "./types.ts";
import { type WorkerQueueOptions, WorkerQueueStore } from "./worker_store.ts";

export * from "./types.ts";
export { isQueueId, newQueueId } from "./queue_id.ts";
export { SCHEMA_VERSION } from "./schema.ts";
export { type SqliteQueueOptions, SqliteQueueStore } from "./sqlite_store.ts";
export { type WorkerQueueOptions, WorkerQueueStore } from "./worker_store.ts";

/** File name of the queue database inside data_directory. */
export const QUEUE_DB_FILE = "queue.db";

/**
 * Opens (creating if needed) `<dataDirectory>/queue.db` and migrates its
 * schema. A new directory is made private (0700) and a new database file 0600
 * (SQLite gives its -wal and -shm files the same mode): it holds other
 * people's mail. Existing modes are left as the administrator set them.
 *
 * By default the database is used on the calling thread. With
 * `thread: "worker"` it lives in a Worker (see WorkerQueueStore), so its
 * fsyncs never block this thread; the promise settles once the worker has
 * opened it, and rejects with the reason it could not.
 */
export function openQueue(
  dataDirectory: string,
  options?: SqliteQueueOptions & { thread?: "main" },
): QueueStore;
export function openQueue(
  dataDirectory: string,
  options: WorkerQueueOptions & { thread: "worker" },
): Promise<QueueStore>;
export function openQueue(
  dataDirectory: string,
  options: WorkerQueueOptions & { thread?: "main" | "worker" } = {},
): QueueStore | Promise<QueueStore> {
  const { thread, ...storeOptions } = options;
  if (thread === "worker") return openInWorker(dataDirectory, storeOptions);
  return new SqliteQueueStore(createDatabaseFile(dataDirectory), storeOptions);
}

async function openInWorker(dataDirectory: string, options: WorkerQueueOptions) {
  const store = new WorkerQueueStore(createDatabaseFile(dataDirectory), options);
  try {
    await store.opened;
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function createDatabaseFile(dataDirectory: string): string {
  Deno.mkdirSync(dataDirectory, { recursive: true, mode: 0o700 });
  const path = join(dataDirectory, QUEUE_DB_FILE);
  // An empty file is a valid empty database; creating it first sets its mode.
  Deno.writeFileSync(path, new Uint8Array(), { append: true, create: true, mode: 0o600 });
  return path;
}
