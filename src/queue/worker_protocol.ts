/**
 * The messages between WorkerQueueStore (main thread) and the queue worker:
 * requests with an id, replies naming that id, and errors flattened so their
 * meaning survives structured cloning (which keeps neither a class nor extra
 * fields such as MailError's code).
 */
import { MailError } from "../errors.ts";
import type { SqliteQueueOptions } from "./sqlite_store.ts";
import { QueueNotFoundError, type QueueStore } from "./types.ts";

/** The Worker's name; the entry module checks it to know it is the queue worker. */
export const QUEUE_WORKER_NAME = "facteur-queue";

/** QueueStore methods the worker answers; "open" and "close" manage the database itself. */
export type QueueMethod = Exclude<keyof QueueStore, "close">;

export const QUEUE_METHODS: ReadonlySet<string> = new Set<QueueMethod>([
  "enqueue",
  "claimDue",
  "content",
  "recordAttempt",
  "hold",
  "release",
  "remove",
  "requeue",
  "requeueDomain",
  "markCorrupt",
  "get",
  "list",
  "shape",
  "counts",
  "recoverActive",
]);

/** SqliteQueueOptions that can cross to the worker (a callback cannot). */
export interface WorkerOpenOptions extends Omit<SqliteQueueOptions, "onFlush"> {
  /** Send a FlushEvent after each committed batch. */
  reportFlushes?: boolean;
}

export type QueueRequest =
  | { id: number; method: "open"; args: [path: string, options: WorkerOpenOptions] }
  | { id: number; method: "close"; args: [] }
  | { id: number; method: QueueMethod; args: unknown[] };

export type QueueReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: WireError };

/** A committed batch of `flush` operations (only with reportFlushes). */
export interface FlushEvent {
  flush: number;
}

export type WireError =
  | { kind: "mail"; code: number; enhanced: string; message: string; cause?: string }
  | { kind: "not-found"; id: string }
  | { kind: "error"; name: string; message: string };

export function errorToWire(err: unknown): WireError {
  if (err instanceof MailError) {
    const { code, enhanced, message } = err;
    const cause = err.cause instanceof Error ? err.cause.message : undefined;
    return { kind: "mail", code, enhanced, message, cause };
  }
  if (err instanceof QueueNotFoundError) return { kind: "not-found", id: err.id };
  if (err instanceof Error) return { kind: "error", name: err.name, message: err.message };
  return { kind: "error", name: "Error", message: String(err) };
}

/** Argument errors keep their class (they mean a bug in the caller); the rest become Error. */
const ERROR_CLASSES: Record<string, new (message: string) => Error> = {
  TypeError,
  RangeError,
};

export function errorFromWire(wire: WireError): Error {
  switch (wire.kind) {
    case "mail": {
      const options = wire.cause === undefined ? undefined : { cause: new Error(wire.cause) };
      return new MailError(wire.code, wire.enhanced, wire.message, options);
    }
    case "not-found":
      return new QueueNotFoundError(wire.id);
    case "error":
      return new (ERROR_CLASSES[wire.name] ?? Error)(wire.message);
  }
}

/** The buffer of a Uint8Array that owns all of it, so it can be moved instead of copied. */
export function transferableBuffer(value: unknown): ArrayBuffer[] {
  if (!(value instanceof Uint8Array) || !(value.buffer instanceof ArrayBuffer)) return [];
  const whole = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength;
  return whole ? [value.buffer] : [];
}
