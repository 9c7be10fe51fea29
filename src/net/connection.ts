/**
 * One accepted TCP connection: a byte-exact LineReader fed by the socket,
 * buffered writes flushed on demand (PIPELINING, RFC 2920), an idle timeout
 * on reads and writes, and an in-place upgrade to TLS (STARTTLS, RFC 3207).
 *
 * Servers use node:net so that the plain socket can be wrapped by
 * `new tls.TLSSocket(socket, { isServer: true })`: Deno.startTls is client-only.
 */
import type { Socket } from "node:net";
import { TLSSocket, type TLSSocketOptions } from "node:tls";
import { EndOfInputError, type Line, LineReader, type Overflow } from "./line_reader.ts";
import { normalizeAddress } from "../maps/ip.ts";
import { followSocket } from "./socket_events.ts";

/** A read or write waited longer than the idle timeout. */
export class TimeoutError extends Error {
  constructor(message = "timeout exceeded") {
    super(message);
    this.name = "TimeoutError";
  }
}

export { EndOfInputError };

export interface ConnectionOptions {
  /** Idle time allowed while waiting to read or write, in ms (postconf(5) smtpd_timeout). 0 = none. */
  timeoutMs?: number;
  /**
   * postconf(5) smtpd_per_record_deadline: the timeout covers a whole read
   * operation (one line, one chunk) instead of restarting whenever bytes arrive.
   */
  perRecordDeadline?: boolean;
  /** Buffered input above which the socket is paused (backpressure). */
  highWaterMark?: number;
  /** The peer to report instead of the socket's (a unix-domain socket has no address). */
  remote?: Endpoint;
}

export interface Endpoint {
  address: string;
  port: number;
}

export class Connection {
  readonly remote: Endpoint;
  readonly local: Endpoint;
  /** Resolves when the socket has closed, for whatever reason. */
  readonly closed: Promise<void>;

  #socket: Socket;
  #reader: LineReader;
  #tls = false;
  #out: (string | Uint8Array)[] = [];
  #timer?: ReturnType<typeof setTimeout>;
  /** ms epoch when the read in progress times out; 0 when no read is waiting. */
  #deadline = 0;
  #timerDue = 0;
  #timeoutMs: number;
  readonly #perRecord: boolean;
  #socketError?: Error;
  #isClosed = false;
  #resolveClosed!: () => void;
  #detach: () => void;

  constructor(socket: Socket, options: ConnectionOptions = {}) {
    this.#socket = socket;
    this.#timeoutMs = options.timeoutMs ?? 0;
    this.#perRecord = options.perRecordDeadline ?? false;
    this.remote = options.remote ?? {
      address: normalizeAddress(socket.remoteAddress ?? ""),
      port: socket.remotePort ?? 0,
    };
    this.local = {
      address: normalizeAddress(socket.localAddress ?? ""),
      port: socket.localPort ?? 0,
    };
    this.#reader = new LineReader({
      highWaterMark: options.highWaterMark,
      onPause: () => this.#socket.pause(),
      onResume: () => this.#socket.resume(),
    });
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#detach = this.#attach(socket);
  }

  /** The transport is TLS (after upgradeToTls). */
  get tls(): boolean {
    return this.#tls;
  }

  /** The socket closed or failed. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** The last socket error (ECONNRESET, ...), for logging. */
  get socketError(): Error | undefined {
    return this.#socketError;
  }

  /** Input received and not read yet: the client sent ahead of our reply. */
  hasPendingInput(): boolean {
    return this.#reader.buffered > 0;
  }

  /** A whole line is buffered: reading it will not block. */
  hasBufferedLine(): boolean {
    return this.#reader.hasLine();
  }

  /** Changes the idle timeout from now on (ms, 0 = none). */
  setTimeout(ms: number): void {
    this.#timeoutMs = ms;
  }

  readLine(maxLength: number, overflow: Overflow = "discard"): Promise<Line | null> {
    return this.#timed(() => this.#reader.readLine(maxLength, overflow));
  }

  readBytes(n: number): Promise<Uint8Array> {
    return this.#timed(() => this.#reader.readBytes(n));
  }

  skipBytes(n: number): Promise<void> {
    return this.#timed(() => this.#reader.skipBytes(n));
  }

  /** Queues output; nothing is sent before flush(). */
  write(data: string | Uint8Array): void {
    this.#out.push(data);
  }

  /** Sends queued output; resolves once the socket accepted it (or rejects on timeout). */
  async flush(): Promise<void> {
    if (this.#out.length === 0 || this.#isClosed || !this.#socket.writable) {
      this.#out = [];
      return;
    }
    const parts = this.#out;
    this.#out = [];
    const data = parts.length === 1 ? parts[0] : joinParts(parts);
    const flushed = this.#socket.write(data);
    if (flushed) return;
    await this.#waitFor((done) => {
      const onDrain = () => done();
      this.#socket.once("drain", onDrain);
      return () => this.#socket.off("drain", onDrain);
    });
  }

  /**
   * Switches the transport to TLS in place (server side). Input buffered so
   * far is discarded first: it was sent in plaintext before the handshake and
   * must not be read as if it came over TLS (RFC 3207 §6, CVE-2011-0411).
   * `ready` (e.g. "220 2.0.0 Ready to start TLS\r\n") is written after input
   * stopped being read, so the client's handshake bytes go to TLS only.
   * Resolves once the handshake completed; rejects (and closes) if it failed.
   */
  async upgradeToTls(ready: string | Uint8Array, options: TLSSocketOptions): Promise<number> {
    if (this.#tls) throw new Error("TLS is already active");
    const raw = this.#socket;
    raw.pause();
    this.#detach();
    await this.flush();
    const discarded = this.#reader.discardBuffered();
    raw.write(ready);
    const secure = new TLSSocket(raw, { ...options, isServer: true });
    this.#socket = secure;
    this.#tls = true;
    this.#detach = this.#attach(secure);
    raw.once("close", () => this.#onClose());
    try {
      await this.#waitFor((done, fail) => {
        const onSecure = () => done();
        const onError = (e: Error) => fail(e);
        secure.once("secure", onSecure);
        secure.once("error", onError);
        return () => {
          secure.off("secure", onSecure);
          secure.off("error", onError);
        };
      });
    } catch (e) {
      this.destroy();
      throw e;
    }
    return discarded;
  }

  /** Sends queued output, then half-closes and waits (briefly) for the peer to go. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } catch {
      // The peer is gone or stuck: nothing more to say.
    }
    if (!this.#isClosed) this.#socket.end();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gone = await Promise.race([
      this.closed.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 2000))),
    ]);
    clearTimeout(timer);
    if (!gone) this.destroy();
  }

  destroy(): void {
    this.#stopTimer();
    this.#socket.destroy();
  }

  #onClose(): void {
    this.#isClosed = true;
    this.#stopTimer();
    this.#reader.end();
    this.#resolveClosed();
  }

  #attach(socket: Socket): () => void {
    return followSocket(socket, {
      data: (chunk) => {
        this.#reader.push(chunk);
        if (this.#deadline && !this.#perRecord) this.#armTimer();
      },
      end: () => this.#reader.end(),
      error: (e) => {
        this.#socketError ??= e;
        this.#reader.end();
      },
      close: () => this.#onClose(),
    });
  }

  /** Runs a read with the idle timer armed; the reader fails on timeout. */
  async #timed<T>(read: () => Promise<T>): Promise<T> {
    this.#armTimer();
    try {
      return await read();
    } finally {
      this.#clearTimer();
    }
  }

  /**
   * Starts or extends the idle deadline of the read in progress. One timer
   * per connection, moved lazily: extending only changes #deadline, and the
   * timer re-schedules itself when it fires early (no clearTimeout/setTimeout
   * pair per command or per chunk).
   */
  #armTimer(): void {
    if (this.#timeoutMs <= 0) return;
    this.#deadline = Date.now() + this.#timeoutMs;
    // A timer due after the new deadline (the timeout was shortened) is replaced.
    if (this.#timer !== undefined && this.#timerDue > this.#deadline) this.#stopTimer(true);
    if (this.#timer === undefined) this.#schedule(this.#timeoutMs);
  }

  #schedule(ms: number): void {
    this.#timerDue = Date.now() + ms;
    this.#timer = setTimeout(() => this.#onTimer(), ms);
  }

  #onTimer(): void {
    this.#timer = undefined;
    if (this.#deadline === 0) return; // no read waiting
    const left = this.#deadline - Date.now();
    if (left > 0) return this.#schedule(left);
    this.#deadline = 0;
    this.#reader.fail(new TimeoutError());
  }

  /** The read is over: a pending timer will find nothing to do. */
  #clearTimer(): void {
    this.#deadline = 0;
  }

  #stopTimer(keepDeadline = false): void {
    if (!keepDeadline) this.#deadline = 0;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Waits for an event registered by `setup`, the socket closing, or the idle timeout. */
  #waitFor(
    setup: (done: () => void, fail: (e: Error) => void) => () => void,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (error?: Error) => {
        if (timer !== undefined) clearTimeout(timer);
        cleanup();
        this.#socket.off("close", onClose);
        if (error) reject(error);
        else resolve();
      };
      const onClose = () => finish(new EndOfInputError());
      const cleanup = setup(() => finish(), (e) => finish(e));
      this.#socket.once("close", onClose);
      if (this.#timeoutMs > 0) {
        timer = setTimeout(() => finish(new TimeoutError()), this.#timeoutMs);
      }
    });
  }
}

function joinParts(parts: (string | Uint8Array)[]): Uint8Array {
  const encoder = new TextEncoder();
  const bytes = parts.map((p) => (typeof p === "string" ? encoder.encode(p) : p));
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of bytes) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}
