/**
 * Messages for the other thread, sent together once per event-loop turn: one
 * postMessage, so one wake-up of the other thread, for all the calls (or
 * replies) of that turn, in the order they were made. Calls made in one turn
 * also reach the worker together and so share one group commit.
 */
import { setImmediate } from "node:timers";

type Post<T> = (batch: T[], transfer: Transferable[]) => void;

export class Outbox<T> {
  #items: { item: T; transfer: Transferable[] }[] = [];
  #post: Post<T>;
  #onUnsendable: (item: T, error: unknown) => void;

  /** `onUnsendable` gets each item that could not be sent (the others are). */
  constructor(post: Post<T>, onUnsendable: (item: T, error: unknown) => void) {
    this.#post = post;
    this.#onUnsendable = onUnsendable;
  }

  /** `transfer`: buffers of `item` to move instead of copying (detached here once sent). */
  add(item: T, transfer: Transferable[] = []): void {
    if (this.#items.length === 0) setImmediate(() => this.flush());
    this.#items.push({ item, transfer });
  }

  /** Drops what is not sent yet (the other side is gone). */
  clear(): void {
    this.#items = [];
  }

  flush(): void {
    const entries = this.#items;
    if (entries.length === 0) return;
    this.#items = [];
    try {
      this.#post(entries.map((e) => e.item), entries.flatMap((e) => e.transfer));
    } catch (batchError) {
      // Something could not be cloned (a function in an argument, say). Deno has
      // moved the buffers to transfer all the same: those items are lost, the
      // others go one by one.
      for (const { item, transfer } of entries) {
        if (transfer.some(isDetached)) {
          this.#onUnsendable(item, new Error(`not sent with a message that failed: ${batchError}`));
          continue;
        }
        try {
          this.#post([item], transfer);
        } catch (error) {
          this.#onUnsendable(item, error);
        }
      }
    }
  }
}

function isDetached(transferable: Transferable): boolean {
  return transferable instanceof ArrayBuffer && transferable.detached;
}
