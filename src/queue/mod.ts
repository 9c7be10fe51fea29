/**
 * The mail queue: durable storage of envelopes and content between cleanup
 * and delivery. SQLite is the embedded default backend.
 */
import { join } from "node:path";
import { type SqliteQueueOptions, SqliteQueueStore } from "./sqlite_store.ts";
import type { QueueStore } from "./types.ts";

export * from "./types.ts";
export { isQueueId, newQueueId } from "./queue_id.ts";
export { SCHEMA_VERSION } from "./schema.ts";
export { type SqliteQueueOptions, SqliteQueueStore } from "./sqlite_store.ts";

/** File name of the queue database inside data_directory. */
export const QUEUE_DB_FILE = "queue.db";

/**
 * Opens (creating if needed) `<dataDirectory>/queue.db` and migrates its
 * schema. A new directory is made private (0700) and a new database file 0600
 * (SQLite gives its -wal and -shm files the same mode): it holds other
 * people's mail. Existing modes are left as the administrator set them.
 */
export function openQueue(dataDirectory: string, options: SqliteQueueOptions = {}): QueueStore {
  Deno.mkdirSync(dataDirectory, { recursive: true, mode: 0o700 });
  const path = join(dataDirectory, QUEUE_DB_FILE);
  // An empty file is a valid empty database; creating it first sets its mode.
  Deno.writeFileSync(path, new Uint8Array(), { append: true, create: true, mode: 0o600 });
  return new SqliteQueueStore(path, options);
}
