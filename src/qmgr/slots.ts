/**
 * Counting semaphores by name: at most `limit` holders per key (a
 * destination, a transport); the others wait in arrival order. A limit of 0
 * is no limit, as for Postfix's concurrency limits (qmgr_queue.c).
 */
export class Slots {
  readonly #held = new Map<string, number>();
  readonly #waiting = new Map<string, ((granted: boolean) => void)[]>();
  #closed = false;

  /** Resolves true once a slot is held (give it back with release), false when closed first. */
  acquire(key: string, limit: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    const held = this.#held.get(key) ?? 0;
    if (limit === 0 || held < limit) {
      this.#held.set(key, held + 1);
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const queue = this.#waiting.get(key) ?? [];
      queue.push(resolve);
      this.#waiting.set(key, queue);
    });
  }

  release(key: string): void {
    const queue = this.#waiting.get(key);
    const next = queue?.shift();
    if (queue?.length === 0) this.#waiting.delete(key);
    if (next) return next(true); // the slot passes on; the count stays
    const held = (this.#held.get(key) ?? 0) - 1;
    if (held > 0) this.#held.set(key, held);
    else this.#held.delete(key);
  }

  /** Slots held under `key` now. */
  held(key: string): number {
    return this.#held.get(key) ?? 0;
  }

  /** Refuses the waiting and every later acquire (shutting down); held slots are kept. */
  close(): void {
    this.#closed = true;
    for (const queue of this.#waiting.values()) for (const resolve of queue) resolve(false);
    this.#waiting.clear();
  }

  open(): void {
    this.#closed = false;
  }
}
