/**
 * A byte-exact reader over a pushed byte stream: lines (with the terminator
 * that ended them) and counted byte runs (BDAT). Nothing is decoded here;
 * callers decode a line only once it is complete.
 *
 * Bytes are pushed by the transport (`push`, `end`, `fail`); one consumer
 * reads at a time. When the buffer grows past the high-water mark the source
 * is asked to pause, and to resume once the consumer needs more.
 */

const LF = 0x0a;
const CR = 0x0d;

/** How a line ended: CR LF, a bare LF, or nothing (end of input, or a split piece). */
export type LineEnding = "crlf" | "lf" | "none";

export interface Line {
  /** The line without its terminator. For an over-long line: its first `maxLength` bytes. */
  bytes: Uint8Array;
  ending: LineEnding;
  /**
   * More than `maxLength` bytes before the terminator. With overflow "discard"
   * the rest of the line was skipped; with "split" the line continues in the
   * next read (ending is "none").
   */
  tooLong: boolean;
}

/** What to do with a line longer than maxLength. */
export type Overflow = "discard" | "split";

/** The input ended before a counted read (readBytes/skipBytes) was complete. */
export class EndOfInputError extends Error {
  constructor(message = "connection closed by peer") {
    super(message);
    this.name = "EndOfInputError";
  }
}

export interface LineReaderOptions {
  /** Buffered bytes above which onPause is called (default 256 KiB). */
  highWaterMark?: number;
  onPause?: () => void;
  onResume?: () => void;
}

export class LineReader {
  #buf = new Uint8Array(16 * 1024);
  #start = 0;
  #end = 0;
  #eof = false;
  #error?: Error;
  #wake?: () => void;
  #paused = false;
  readonly #highWaterMark: number;
  readonly #onPause?: () => void;
  readonly #onResume?: () => void;

  constructor(options: LineReaderOptions = {}) {
    this.#highWaterMark = options.highWaterMark ?? 256 * 1024;
    this.#onPause = options.onPause;
    this.#onResume = options.onResume;
  }

  /** Bytes received and not yet read. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** True once end() or fail() was called. */
  get ended(): boolean {
    return this.#eof || this.#error !== undefined;
  }

  /** A complete line (up to an LF) is already buffered: reading it will not wait. */
  hasLine(): boolean {
    return this.#indexOfLF(this.#start) >= 0;
  }

  push(chunk: Uint8Array): void {
    if (this.ended || chunk.length === 0) return;
    this.#reserve(chunk.length);
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
    if (!this.#paused && this.buffered > this.#highWaterMark) {
      this.#paused = true;
      this.#onPause?.();
    }
    this.#notify();
  }

  /** The source has no more bytes. Buffered bytes can still be read. */
  end(): void {
    this.#eof = true;
    this.#notify();
  }

  /** The source failed (e.g. timed out): pending and later reads that must wait reject with `error`. */
  fail(error: Error): void {
    if (this.#error) return;
    this.#error = error;
    this.#notify();
  }

  /** Drops everything buffered (RFC 3207 §6: plaintext pipelined before a TLS handshake). */
  discardBuffered(): number {
    const n = this.buffered;
    this.#consume(n);
    return n;
  }

  /**
   * The next line: bytes up to LF, without CR LF or LF. Resolves null at end
   * of input with nothing buffered; a last unterminated line has ending "none".
   * `maxLength` counts the bytes before the terminator.
   */
  async readLine(maxLength: number, overflow: Overflow = "discard"): Promise<Line | null> {
    if (maxLength < 1) throw new RangeError("maxLength must be at least 1");
    let head: Uint8Array | undefined; // discard mode: kept start of an over-long line
    let lastDroppedWasCR = false;
    let scanned = 0; // bytes after #start already known to hold no LF
    for (;;) {
      const lf = this.#indexOfLF(this.#start + scanned);
      if (lf >= 0) {
        const before = lf - this.#start;
        if (head) {
          const crlf = before > 0 ? this.#buf[lf - 1] === CR : lastDroppedWasCR;
          this.#consume(before + 1);
          return { bytes: head, ending: crlf ? "crlf" : "lf", tooLong: true };
        }
        const crlf = before > 0 && this.#buf[lf - 1] === CR;
        const length = crlf ? before - 1 : before;
        if (length > maxLength) {
          if (overflow === "split") return this.#splitPiece(maxLength);
          const kept = this.#copy(maxLength);
          this.#consume(before + 1);
          return { bytes: kept, ending: crlf ? "crlf" : "lf", tooLong: true };
        }
        const bytes = this.#copy(length);
        this.#consume(before + 1);
        return { bytes, ending: crlf ? "crlf" : "lf", tooLong: false };
      }
      scanned = this.buffered;
      // maxLength bytes plus a CR may still be a line of legal length.
      if (overflow === "split" && this.buffered > maxLength + 1) return this.#splitPiece(maxLength);
      if (overflow === "discard" && (head ? this.buffered > 0 : this.buffered > maxLength + 1)) {
        head ??= this.#copy(maxLength);
        lastDroppedWasCR = this.#buf[this.#end - 1] === CR;
        this.#consume(this.buffered);
        scanned = 0;
      }
      if (this.#error) throw this.#error;
      if (this.#eof) {
        if (head) return { bytes: head, ending: "none", tooLong: true };
        if (this.buffered === 0) return null;
        if (this.buffered > maxLength && overflow === "split") return this.#splitPiece(maxLength);
        const n = this.buffered;
        const bytes = this.#copy(Math.min(n, maxLength));
        this.#consume(n);
        return { bytes, ending: "none", tooLong: n > maxLength };
      }
      await this.#more();
    }
  }

  /** Exactly n bytes (BDAT chunk). Rejects with EndOfInputError if the input ends first. */
  async readBytes(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const take = Math.min(this.buffered, n - got);
      out.set(this.#buf.subarray(this.#start, this.#start + take), got);
      this.#consume(take);
      got += take;
      if (got < n) await this.#needMore();
    }
    return out;
  }

  /** Reads and drops exactly n bytes (a rejected BDAT chunk must still be consumed). */
  async skipBytes(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const take = Math.min(this.buffered, left);
      this.#consume(take);
      left -= take;
      if (left > 0) await this.#needMore();
    }
  }

  async #needMore(): Promise<void> {
    if (this.#error) throw this.#error;
    if (this.#eof) throw new EndOfInputError();
    await this.#more();
  }

  /** Waits for push/end/fail. The consumer wants bytes, so a paused source resumes. */
  #more(): Promise<void> {
    if (this.#paused) {
      this.#paused = false;
      this.#onResume?.();
    }
    return new Promise((resolve) => (this.#wake = resolve));
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** A piece of at most maxLength bytes that never ends between CR and LF. */
  #splitPiece(maxLength: number): Line {
    let n = Math.min(maxLength, this.buffered);
    if (n > 1 && this.#buf[this.#start + n - 1] === CR) n -= 1;
    const bytes = this.#copy(n);
    this.#consume(n);
    return { bytes, ending: "none", tooLong: true };
  }

  #indexOfLF(from: number): number {
    return this.#buf.subarray(0, this.#end).indexOf(LF, from);
  }

  #copy(n: number): Uint8Array {
    return this.#buf.slice(this.#start, this.#start + n);
  }

  #consume(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#paused && this.buffered <= this.#highWaterMark / 2) {
      this.#paused = false;
      this.#onResume?.();
    }
  }

  #reserve(extra: number): void {
    if (this.#end + extra <= this.#buf.length) return;
    const live = this.buffered;
    if (live + extra <= this.#buf.length && this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      const grown = new Uint8Array(Math.max(this.#buf.length * 2, live + extra));
      grown.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = grown;
    }
    this.#start = 0;
    this.#end = live;
  }
}
