/**
 * The client side of one SMTP/LMTP connection: connect (TCP or unix
 * socket), read replies line by line with a per-read timeout, write with
 * backpressure, and switch to TLS in place after STARTTLS (RFC 3207).
 *
 * src/net/connection.ts is server-side (its TLS upgrade is isServer), so the
 * client keeps its own small wrapper around node:net and the shared LineReader.
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { isIP } from "node:net";
import { EndOfInputError, LineReader } from "../../net/line_reader.ts";
import { TimeoutError } from "../../net/connection.ts";
import { followSocket } from "../../net/socket_events.ts";
import { makeReply, parseReplyLine, type Reply, type ReplyLine } from "./reply.ts";

export { EndOfInputError, TimeoutError };

/** Where to connect: a TCP address and port, or a unix-domain socket path (LMTP). */
export type WireAddress = { address: string; port: number } | { path: string };

/** The server sent something that is not an SMTP reply. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** RFC 5321 4.5.3.1.5: a reply line is at most 512 octets; be lenient. */
const MAX_REPLY_LINE = 4096;
/** A reply with more lines than this is not a reply (guards memory). */
const MAX_REPLY_LINES = 1000;

export class ClientWire {
  #socket: Socket;
  #reader = new LineReader();
  #detach: () => void;
  #closed = false;
  #tls = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#detach = this.#attach(socket);
  }

  /** Opens the connection; rejects with the socket error (ECONNREFUSED, ...) or TimeoutError. */
  static connect(to: WireAddress, timeoutMs: number): Promise<ClientWire> {
    return new Promise((resolve, reject) => {
      const socket = "path" in to
        ? netConnect({ path: to.path })
        : netConnect({ host: to.address, port: to.port });
      const timer = timeoutMs > 0
        ? setTimeout(() => {
          socket.destroy();
          reject(new TimeoutError("Connection timed out"));
        }, timeoutMs)
        : undefined;
      socket.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        // Commands and the final dot are small writes that must not wait for the
        // peer's delayed ACK (Nagle): each one would cost ~40 ms.
        if (!("path" in to)) socket.setNoDelay(true);
        resolve(new ClientWire(socket));
      });
    });
  }

  get tls(): boolean {
    return this.#tls;
  }

  /** False once the server closed the connection (an idle one it timed out) or it failed. */
  get open(): boolean {
    // Anything the server said meanwhile (a 421 before closing) also ends its use.
    return !this.#closed && !this.#reader.ended && this.#reader.buffered === 0 &&
      !this.#socket.destroyed;
  }

  /** Reads one complete reply (RFC 5321 4.2.1 multi-line form). */
  async readReply(timeoutMs: number): Promise<Reply> {
    const lines: ReplyLine[] = [];
    for (;;) {
      const raw = await this.#timed(timeoutMs, () => this.#reader.readLine(MAX_REPLY_LINE));
      if (raw === null || raw.ending === "none") throw new EndOfInputError();
      const text = new TextDecoder().decode(raw.bytes).replace(/\r$/, "");
      const line = parseReplyLine(text);
      if (!line || (lines.length > 0 && line.code !== lines[0].code)) {
        throw new ProtocolError(`unexpected server reply: ${text.slice(0, 100)}`);
      }
      lines.push(line);
      if (line.last) return makeReply(lines);
      if (lines.length >= MAX_REPLY_LINES) throw new ProtocolError("server reply too long");
    }
  }

  /** Writes and waits until the socket took the data (or the timeout/close). */
  async write(data: string | Uint8Array, timeoutMs: number): Promise<void> {
    if (this.#closed) throw new EndOfInputError();
    if (this.#socket.write(data)) return;
    await this.#wait(timeoutMs, (done) => {
      this.#socket.once("drain", done);
      return () => this.#socket.off("drain", done);
    });
  }

  /**
   * Starts TLS on the connection after the server's 220 to STARTTLS.
   * `servername` is sent as SNI when it is a name. Certificates are not
   * verified: opportunistic TLS (postconf(5) smtp_tls_security_level may/encrypt).
   */
  async startTls(servername: string, timeoutMs: number): Promise<void> {
    // RFC 3207 6: anything the server sent before TLS is discarded.
    this.#detach();
    this.#reader = new LineReader();
    const secure: TLSSocket = tlsConnect({
      socket: this.#socket,
      servername: isIP(servername) ? undefined : servername,
      rejectUnauthorized: false,
    });
    this.#socket = secure;
    this.#tls = true;
    this.#detach = this.#attach(secure);
    await this.#wait(timeoutMs, (done, fail) => {
      const onError = (e: Error) => fail(e);
      secure.once("secureConnect", done);
      secure.once("error", onError);
      return () => {
        secure.off("secureConnect", done);
        secure.off("error", onError);
      };
    });
  }

  /**
   * Half-closes and resolves once the connection is gone, so a delivery slot
   * is given back only when its connection really ended (the destination's
   * concurrency limit counts connections). A server that never closes its
   * side is not waited for more than a second.
   */
  close(): Promise<void> {
    const socket = this.#socket;
    if (this.#closed || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve();
      }, 1000);
      socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #attach(socket: Socket): () => void {
    return followSocket(socket, {
      data: (chunk) => this.#reader.push(chunk),
      end: () => this.#reader.end(),
      error: () => this.#reader.end(),
      close: () => {
        this.#closed = true;
        this.#reader.end();
      },
    });
  }

  async #timed<T>(timeoutMs: number, read: () => Promise<T>): Promise<T> {
    if (timeoutMs <= 0) return await read();
    const timer = setTimeout(() => this.#reader.fail(new TimeoutError()), timeoutMs);
    try {
      return await read();
    } finally {
      clearTimeout(timer);
    }
  }

  #wait(
    timeoutMs: number,
    setup: (done: () => void, fail: (e: Error) => void) => () => void,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (error?: Error) => {
        clearTimeout(timer);
        cleanup();
        this.#socket.off("close", onClose);
        if (error) reject(error);
        else resolve();
      };
      const onClose = () => finish(new EndOfInputError());
      const cleanup = setup(() => finish(), (e) => finish(e));
      this.#socket.once("close", onClose);
      if (timeoutMs > 0) timer = setTimeout(() => finish(new TimeoutError()), timeoutMs);
    });
  }
}
