/**
 * Progress of a long bulk operation on stderr: nothing for a quick one; once
 * it has taken `afterMs`, a line at most every `everyMs` ("deleting: 2000 of
 * 5000 messages"), and a last line when it ends.
 */
export class Progress {
  readonly #start: number;
  #lastShown?: number;

  constructor(
    readonly label: string,
    readonly total: number,
    readonly write: (line: string) => void = (line) => console.error(line),
    readonly clock: () => number = Date.now,
    readonly afterMs = 1000,
    readonly everyMs = 1000,
  ) {
    this.#start = clock();
  }

  /** `done` items are finished. */
  update(done: number): void {
    const now = this.clock();
    if (now - this.#start < this.afterMs) return;
    if (this.#lastShown !== undefined && now - this.#lastShown < this.everyMs) return;
    this.#lastShown = now;
    this.write(`${this.label}: ${done} of ${this.total} messages`);
  }

  /** The closing line, only when progress was shown. */
  finish(done: number): void {
    if (this.#lastShown !== undefined) {
      this.write(`${this.label}: ${done} of ${this.total} messages, done`);
    }
  }
}
