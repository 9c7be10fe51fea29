/**
 * QueueStore whose SQLite database lives in a Worker thread (worker_main.ts):
 * node:sqlite is synchronous, and a COMMIT waits for an fsync; on the main
 * thread that would stall every SMTP session. This side only forwards calls
 * and settles each with the worker's reply, which for a write comes after the
 * worker's COMMIT (the durability contract is the SqliteQueueStore's).
 *
 * The worker runs `workerEntry`, by default Deno.mainModule: mod.ts from
 * source, the bundle file when bundled, the embedded entry when compiled.
 * `deno bundle` does not follow `new Worker(new URL(...))`, but the entry
 * itself is always there; it checks isQueueWorker() and serves the queue.
 */
import { MailError } from "../errors.ts";
import { Outbox } from "./outbox.ts";
import type { SqliteQueueOptions } from "./sqlite_store.ts";
import { storageError } from "./storage_errors.ts";
import type {
  AttemptExtras,
  Envelope,
  ListOptions,
  QueuedMessage,
  QueueName,
  QueueStore,
  RecipientResult,
  ShapeRow,
} from "./types.ts";
import {
  errorFromWire,
  type FlushEvent,
  QUEUE_WORKER_NAME,
  type QueueMethod,
  type QueueReply,
  type QueueRequest,
} from "./worker_protocol.ts";

export interface WorkerQueueOptions extends SqliteQueueOptions {
  /** Module the worker runs; it must call runQueueWorker(). Default: Deno.mainModule. */
  workerEntry?: string | URL;
  /**
   * How many times a dead worker is replaced within RESTART_WINDOW_MS (default 0:
   * never). Calls in flight when it died fail with 451 4.3.0 (the database rolls
   * back what was not committed); calls made while the new one opens wait for it.
   */
  restartLimit?: number;
  /** Told each time the worker died and a new one opened the database. */
  onWorkerRestart?: (error: MailError) => void;
  /** Told once when the worker dies for good; every call fails with 451 4.3.0 from then on. */
  onWorkerDeath?: (error: MailError) => void;
}

/** The window over which restartLimit counts restarts. */
export const RESTART_WINDOW_MS = 10 * 60_000;

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class WorkerQueueStore implements QueueStore {
  readonly path: string;
  /** Settles when the worker has opened (and migrated) the database, or failed to. */
  readonly opened: Promise<void>;
  #worker!: Worker;
  #outbox!: Outbox<QueueRequest>;
  #waiting = new Map<number, Waiter>();
  #nextId = 1;
  #closing?: Promise<void>;
  #dead?: MailError;
  /** A replacement worker is opening the database: calls wait for it. */
  #restarting?: Promise<void>;
  #restarts: number[] = [];
  #restartGeneration = 0;
  readonly #entry: string | URL;
  readonly #openArgs: unknown[];
  readonly #restartLimit: number;
  #onFlush?: (batchSize: number) => void;
  #onWorkerDeath?: (error: MailError) => void;
  #onWorkerRestart?: (error: MailError) => void;

  constructor(path: string, options: WorkerQueueOptions = {}) {
    const {
      workerEntry,
      onFlush,
      onWorkerDeath,
      onWorkerRestart,
      restartLimit,
      ...sqliteOptions
    } = options;
    this.path = path;
    this.#onFlush = onFlush;
    this.#onWorkerDeath = onWorkerDeath;
    this.#onWorkerRestart = onWorkerRestart;
    this.#restartLimit = restartLimit ?? 0;
    this.#entry = workerEntry ?? Deno.mainModule;
    this.#openArgs = [path, { ...sqliteOptions, reportFlushes: onFlush !== undefined }];
    this.opened = this.#spawn();
    this.opened.catch(() => {}); // also reported to every caller; openQueue awaits it
  }

  /** Starts a worker and has it open the database. */
  #spawn(): Promise<void> {
    // Permissions: the default, "inherit", gives the worker exactly this process's.
    const worker = new Worker(this.#entry, { type: "module", name: QUEUE_WORKER_NAME });
    this.#worker = worker;
    this.#outbox = new Outbox(
      (batch, transfer) => worker.postMessage(batch, transfer),
      (request, error) => this.#settle(request.id, (waiter) => waiter.reject(unsent(error))),
    );
    worker.onmessage = (event: MessageEvent<(QueueReply | FlushEvent)[]>) =>
      event.data.forEach((message) => this.#receive(message));
    worker.onerror = (event) => {
      event.preventDefault(); // the process goes on; the queue answers 451 4.3.0
      this.#die(worker, event.message);
    };
    worker.onmessageerror = () => this.#die(worker, "a reply could not be read");
    return this.#send("open", this.#openArgs) as Promise<void>;
  }

  enqueue(id: string, envelope: Envelope, content: Uint8Array): Promise<void> {
    if (!(content instanceof Uint8Array)) {
      return Promise.reject(new TypeError("queue: content must be a Uint8Array"));
    }
    // The worker gets its own copy, moved rather than cloned again; the caller keeps its bytes.
    const copy = content.slice();
    return this.#call("enqueue", [id, envelope, copy], [copy.buffer]) as Promise<void>;
  }

  claimDue(now: number, limit: number): Promise<QueuedMessage[]> {
    return this.#call("claimDue", [now, limit]) as Promise<QueuedMessage[]>;
  }

  content(id: string): Promise<Uint8Array> {
    return this.#call("content", [id]) as Promise<Uint8Array>;
  }

  recordAttempt(
    id: string,
    results: RecipientResult[],
    nextAttempt: number,
    extras?: AttemptExtras,
  ): Promise<void> {
    // Notices are cloned to the worker (the caller keeps its bytes); the worker commits them with the results.
    return this.#call("recordAttempt", [id, results, nextAttempt, extras]) as Promise<void>;
  }

  hold(id: string): Promise<boolean> {
    return this.#call("hold", [id]) as Promise<boolean>;
  }

  release(id: string): Promise<boolean> {
    return this.#call("release", [id]) as Promise<boolean>;
  }

  remove(id: string): Promise<boolean> {
    return this.#call("remove", [id]) as Promise<boolean>;
  }

  requeue(id: string): Promise<boolean> {
    return this.#call("requeue", [id]) as Promise<boolean>;
  }

  requeueDomain(domain: string): Promise<number> {
    return this.#call("requeueDomain", [domain]) as Promise<number>;
  }

  markCorrupt(id: string): Promise<boolean> {
    return this.#call("markCorrupt", [id]) as Promise<boolean>;
  }

  get(id: string): Promise<QueuedMessage | undefined> {
    return this.#call("get", [id]) as Promise<QueuedMessage | undefined>;
  }

  list(options?: ListOptions): Promise<QueuedMessage[]> {
    return this.#call("list", [options]) as Promise<QueuedMessage[]>;
  }

  shape(queue: QueueName | undefined, now: number): Promise<ShapeRow[]> {
    return this.#call("shape", [queue, now]) as Promise<ShapeRow[]>;
  }

  counts(): Promise<Record<QueueName, number>> {
    return this.#call("counts", []) as Promise<Record<QueueName, number>>;
  }

  recoverActive(): Promise<number> {
    return this.#call("recoverActive", []) as Promise<number>;
  }

  /** Lets the worker commit what it holds and close the database, then ends the thread. */
  close(): Promise<void> {
    return this.#closing ??= this.#shutdown();
  }

  async #shutdown(): Promise<void> {
    try {
      if (!this.#dead) await this.#call("close", []);
    } catch (err) {
      if (!this.#dead) throw err; // died meanwhile: nothing more can be flushed
    } finally {
      this.#worker.terminate();
      // Replies come in request order, so nothing is left; but never leave a caller hanging.
      this.#failAll(new Error("queue is closed"));
    }
  }

  #call(
    method: QueueMethod | "close",
    args: unknown[],
    transfer: Transferable[] = [],
  ): Promise<unknown> {
    if (this.#dead) return Promise.reject(this.#dead);
    if (this.#closing && method !== "close") return Promise.reject(new Error("queue is closed"));
    if (this.#restarting) {
      return this.#restarting.then(() => this.#call(method, args, transfer));
    }
    return this.#send(method, args, transfer);
  }

  #send(method: QueueMethod | "open" | "close", args: unknown[], transfer: Transferable[] = []) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#outbox.add({ id, method, args } as QueueRequest, transfer);
    });
  }

  #receive(message: QueueReply | FlushEvent): void {
    if ("flush" in message) this.#onFlush?.(message.flush);
    else if (message.ok) this.#settle(message.id, (waiter) => waiter.resolve(message.value));
    else this.#settle(message.id, (waiter) => waiter.reject(errorFromWire(message.error)));
  }

  #settle(id: number, settle: (waiter: Waiter) => void): void {
    const waiter = this.#waiting.get(id);
    if (!waiter) return;
    this.#waiting.delete(id);
    settle(waiter);
  }

  #die(worker: Worker, reason: string): void {
    if (this.#dead || worker !== this.#worker) return;
    const error = storageError(new Error(`queue worker died: ${reason}`));
    this.#outbox.clear();
    worker.terminate();
    this.#failAll(error);
    if (this.#closing || !this.#mayRestart()) {
      this.#dead = error;
      this.#restarting = undefined;
      this.#onWorkerDeath?.(error);
      return;
    }
    this.#restarting = this.#restart(error);
  }

  /** postconf-like budget: restartLimit restarts per RESTART_WINDOW_MS. */
  #mayRestart(): boolean {
    const now = Date.now();
    this.#restarts = this.#restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.#restarts.length >= this.#restartLimit) return false;
    this.#restarts.push(now);
    return true;
  }

  async #restart(error: MailError): Promise<void> {
    const generation = ++this.#restartGeneration;
    // A worker that dies at once again must not spin: wait a little longer each time.
    await new Promise((r) => setTimeout(r, 100 * 2 ** (this.#restarts.length - 1)));
    try {
      await this.#spawn();
    } catch (e) {
      // Died while opening: #die has already decided (a newer restart, or dead for good).
      if (generation !== this.#restartGeneration || this.#dead) return;
      // Alive but unable to open the database: no point in trying again.
      const dead = e instanceof MailError ? e : storageError(e as Error);
      this.#dead = dead;
      this.#restarting = undefined;
      this.#worker.terminate();
      this.#failAll(dead);
      this.#onWorkerDeath?.(dead);
      return;
    }
    if (generation !== this.#restartGeneration) return;
    this.#restarting = undefined;
    this.#onWorkerRestart?.(error);
  }

  #failAll(error: Error): void {
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const waiter of waiting) waiter.reject(error);
  }
}

/** A caller's own uncloneable argument is its bug (DataCloneError); a call lost with it is 451. */
function unsent(error: unknown): unknown {
  const ownFault = error instanceof DOMException && error.name === "DataCloneError";
  return ownFault ? error : storageError(error);
}
