/**
 * The queue worker: a SqliteQueueStore on its own thread, answering
 * WorkerQueueStore's requests. Its COMMITs (fsyncs) block only this thread;
 * requests that arrive meanwhile wait in its message queue and are all taken
 * before the group committer's setImmediate flush, so they form the next batch.
 */
import { Outbox } from "./outbox.ts";
import { SqliteQueueStore } from "./sqlite_store.ts";
import {
  errorToWire,
  type FlushEvent,
  QUEUE_METHODS,
  QUEUE_WORKER_NAME,
  type QueueReply,
  type QueueRequest,
  transferableBuffer,
  type WorkerOpenOptions,
} from "./worker_protocol.ts";

/** The parts of a dedicated worker's global scope used here (the checked lib is deno.window). */
interface WorkerScope {
  name: string;
  onmessage: ((event: MessageEvent<QueueRequest[]>) => void) | null;
  postMessage(message: (QueueReply | FlushEvent)[], transfer?: Transferable[]): void;
}

/** True inside the Worker that WorkerQueueStore starts (it names it QUEUE_WORKER_NAME). */
export function isQueueWorker(): boolean {
  return "WorkerGlobalScope" in globalThis &&
    (globalThis as unknown as Partial<WorkerScope>).name === QUEUE_WORKER_NAME;
}

/** Serves queue requests on this worker's message port until the parent terminates it. */
export function runQueueWorker(scope = globalThis as unknown as WorkerScope): void {
  let store: SqliteQueueStore | undefined;
  const outbox = new Outbox<QueueReply | FlushEvent>(
    (batch, transfer) => scope.postMessage(batch, transfer),
    // A result that cannot be cloned becomes an error reply (which always can be).
    (message, error) => {
      if ("ok" in message && message.ok) {
        outbox.add({ id: message.id, ok: false, error: errorToWire(error) });
      }
    },
  );
  /** Replies not sent yet; close answers only after them, so its reply comes last. */
  const unanswered = new Set<Promise<void>>();

  const reply = (id: number, work: () => unknown) => {
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(work());
    } catch (err) {
      result = Promise.reject(err);
    }
    const answered = result.then(
      (value) => outbox.add({ id, ok: true, value }, transferableBuffer(value)),
      (err) => outbox.add({ id, ok: false, error: errorToWire(err) }),
    ).finally(() => {
      unanswered.delete(answered);
      // Everything asked is answered: send now rather than at the end of the turn.
      if (unanswered.size === 0) outbox.flush();
    });
    unanswered.add(answered);
  };

  const close = async () => {
    const earlier = [...unanswered];
    await store?.close(); // commits what is still waiting for the group commit
    await Promise.all(earlier);
  };

  const open = (path: string, options: WorkerOpenOptions) => {
    if (store) throw new Error("queue worker: the database is already open");
    const { reportFlushes, ...sqliteOptions } = options;
    const onFlush = reportFlushes ? (n: number) => outbox.add({ flush: n }) : undefined;
    store = new SqliteQueueStore(path, { ...sqliteOptions, onFlush });
  };

  const serve = (request: QueueRequest) => {
    const { id, method, args } = request;
    if (method === "open") return reply(id, () => open(...request.args));
    if (method === "close") return reply(id, close);
    reply(id, () => {
      if (!QUEUE_METHODS.has(method)) throw new TypeError(`queue worker: no method ${method}`);
      if (!store) throw new Error("queue worker: the database is not open");
      const call = store[method] as (...a: unknown[]) => Promise<unknown>;
      return call.apply(store, args);
    });
  };

  // The group committer flushes on setImmediate, after every request already received.
  scope.onmessage = ({ data: requests }) => requests.forEach(serve);
}
