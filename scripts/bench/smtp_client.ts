/**
 * A minimal SMTP client for the latency benchmark: one command at a time (no
 * PIPELINING), replies read whole (RFC 5321 4.2.1 multi-line replies), and
 * the time from writing the end-of-data dot to reading its reply.
 * It is written here, not taken from facteur, so the measuring side does not
 * share code with the server it measures.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const END_OF_DATA = encoder.encode(".\r\n"); // RFC 5321 4.1.1.4

export interface Reply {
  code: number;
  /** Every line of the reply, without CRLF. */
  lines: string[];
}

export interface SendTimes {
  endOfDataMs: number;
  transactionMs: number;
}

export class SmtpError extends Error {
  constructor(readonly step: string, readonly reply: Reply | null, detail?: string) {
    super(`${step}: ${reply ? reply.lines.join(" / ") : detail ?? "no reply"}`);
    this.name = "SmtpError";
  }
}

export class SmtpSession {
  #buffer = "";
  #chunk = new Uint8Array(16 * 1024);

  private constructor(private readonly conn: Deno.TcpConn) {}

  /** Connects, reads the 220 greeting and says EHLO. */
  static async open(host: string, port: number, helo = "bench.localdomain"): Promise<SmtpSession> {
    const conn = await Deno.connect({ hostname: host, port });
    conn.setNoDelay(true);
    const session = new SmtpSession(conn);
    try {
      await session.expect("greeting", 220);
      await session.command(`EHLO ${helo}`, 250);
    } catch (e) {
      session.close();
      throw e;
    }
    return session;
  }

  /** Reads one complete reply (all its lines). */
  async readReply(): Promise<Reply> {
    const lines: string[] = [];
    while (true) {
      const line = await this.#readLine();
      if (line === null) throw new SmtpError("read", null, "connection closed by server");
      lines.push(line);
      // RFC 5321 4.2.1: "250-" continues, "250 " (or a bare code) ends the reply.
      if (line.length < 4 || line[3] !== "-") return { code: Number(line.slice(0, 3)), lines };
    }
  }

  async expect(step: string, code: number): Promise<Reply> {
    const reply = await this.readReply();
    if (reply.code !== code) throw new SmtpError(step, reply);
    return reply;
  }

  async command(line: string, code: number): Promise<Reply> {
    await this.#write(encoder.encode(line + "\r\n"));
    return await this.expect(line.split(" ")[0], code);
  }

  /**
   * MAIL, RCPT, DATA, then the (already dot-stuffed, CRLF-ended) content.
   * Times in milliseconds: from writing the final ".\r\n" to reading its 250,
   * and for the whole transaction, from writing MAIL to that 250.
   */
  async send(from: string, to: string, content: Uint8Array): Promise<SendTimes> {
    const start = performance.now();
    await this.command(`MAIL FROM:<${from}>`, 250);
    await this.command(`RCPT TO:<${to}>`, 250);
    await this.command("DATA", 354);
    await this.#write(content);
    const dot = performance.now();
    await this.#write(END_OF_DATA);
    await this.expect("end of data", 250);
    const end = performance.now();
    return { endOfDataMs: end - dot, transactionMs: end - start };
  }

  async quit(): Promise<void> {
    try {
      await this.command("QUIT", 221);
    } finally {
      this.close();
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  async #write(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await this.conn.write(bytes.subarray(written));
  }

  async #readLine(): Promise<string | null> {
    while (true) {
      const end = this.#buffer.indexOf("\r\n");
      if (end >= 0) {
        const line = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        return line;
      }
      const n = await this.conn.read(this.#chunk);
      if (n === null) return null;
      this.#buffer += decoder.decode(this.#chunk.subarray(0, n), { stream: true });
    }
  }
}

/**
 * A message of `bodyBytes` bytes of body after a small header, CRLF lines,
 * none starting with "." (so no dot-stuffing is needed), ending with CRLF.
 */
export function buildMessage(from: string, to: string, bodyBytes: number, id: string): Uint8Array {
  const header = [
    `From: <${from}>`,
    `To: <${to}>`,
    `Subject: facteur bench ${id}`,
    `Message-ID: <${id}@bench.localdomain>`,
    `Date: ${new Date().toUTCString().replace("GMT", "+0000")}`,
    "",
    "",
  ].join("\r\n");
  const line = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"; // 64 bytes
  let body = line.repeat(Math.floor(bodyBytes / line.length));
  const rest = bodyBytes - body.length;
  if (rest >= 2) body += "x".repeat(rest - 2) + "\r\n";
  return encoder.encode(header + body);
}
