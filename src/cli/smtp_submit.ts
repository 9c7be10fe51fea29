/**
 * The SMTP client side of local submission: sendmail hands the message to
 * the running server over its pickup socket with one plain transaction,
 * EHLO, MAIL FROM, RCPT TO..., DATA, QUIT (RFC 5321 3.3). All recipients or
 * none: a rejected recipient ends the transaction with RSET before DATA, so
 * a script that retries never sends twice.
 */
import { quoteAddress } from "../cleanup/address_text.ts";
import { encodeXtext } from "../smtpd/xtext.ts";

export interface Reply {
  code: number;
  /** Every line of the reply, without CRLF. */
  lines: string[];
}

/** What the transaction was doing when the server said no (or went away). */
export type SubmitStage = "greeting" | "ehlo" | "mail" | "rcpt" | "data" | "message";

/** A refusal: the reply and where it came; code 0 when the connection ended instead. */
export class SubmitError extends Error {
  constructor(
    readonly stage: SubmitStage,
    readonly reply: Reply,
    readonly recipient?: string,
  ) {
    super(
      `${recipient ? `<${recipient}>: ` : ""}${
        reply.code === 0 ? "connection closed by the server" : reply.lines.join(" / ")
      } (after ${stage === "greeting" ? "connect" : stage.toUpperCase()})`,
    );
    this.name = "SubmitError";
  }
}

export interface Submission {
  heloName: string;
  /** "" is the null sender. */
  sender: string;
  recipients: string[];
  /** The dot-stuffed DATA bytes, ".\r\n" included. */
  data: Uint8Array;
  eightBit: boolean;
  bodyType?: "7BIT" | "8BITMIME";
  notify?: string[];
  ret?: "FULL" | "HDRS";
  envid?: string;
}

/** Reads SMTP replies line by line from a byte stream. */
export class ReplyReader {
  #buffer = "";
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  async #line(): Promise<string | undefined> {
    for (;;) {
      const lf = this.#buffer.indexOf("\n");
      if (lf >= 0) {
        const line = this.#buffer.slice(0, lf).replace(/\r$/, "");
        this.#buffer = this.#buffer.slice(lf + 1);
        return line;
      }
      const { value, done } = await this.#reader.read();
      if (done) return undefined;
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** RFC 5321 4.2.1: "250-" lines continue, "250 " ends; code 0 when the connection closed. */
  async read(): Promise<Reply> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.#line();
      if (line === undefined) return { code: 0, lines };
      lines.push(line);
      const m = /^(\d{3})([ -]|$)/.exec(line);
      if (!m) return { code: 0, lines }; // not SMTP: treated as a broken connection
      if (m[2] !== "-") return { code: Number(m[1]), lines };
    }
  }

  release(): void {
    this.#reader.releaseLock();
  }
}

/** EHLO keywords (RFC 5321 4.1.1.1), upper case. */
export function ehloKeywords(reply: Reply): Set<string> {
  return new Set(reply.lines.slice(1).map((l) => l.slice(4).split(" ")[0].toUpperCase()));
}

export function mailFromCommand(s: Submission, offered: Set<string>): string {
  const params: string[] = [];
  const body = s.bodyType ?? (s.eightBit ? "8BITMIME" : undefined);
  if (body && offered.has("8BITMIME")) params.push(`BODY=${body}`); // RFC 6152
  if (offered.has("DSN")) { // RFC 3461 4.3, 4.4
    if (s.ret) params.push(`RET=${s.ret}`);
    if (s.envid) params.push(`ENVID=${encodeXtext(s.envid)}`);
  }
  if (offered.has("SMTPUTF8") && /[^\x00-\x7f]/.test([s.sender, ...s.recipients].join(""))) {
    params.push("SMTPUTF8"); // RFC 6531 3.4
  }
  return `MAIL FROM:<${s.sender === "" ? "" : quoteAddress(s.sender)}>${
    params.map((p) => ` ${p}`).join("")
  }`;
}

export function rcptToCommand(address: string, s: Submission, offered: Set<string>): string {
  const notify = offered.has("DSN") && s.notify ? ` NOTIFY=${s.notify.join(",")}` : "";
  return `RCPT TO:<${quoteAddress(address)}>${notify}`; // RFC 5321 4.1.2 quoted local part
}

/** One transaction over an open connection; resolves with the final 250 reply (it names the queue id). */
export async function submit(
  conn: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  s: Submission,
): Promise<Reply> {
  const replies = new ReplyReader(conn.readable);
  const writer = conn.writable.getWriter();
  const encoder = new TextEncoder();
  const send = (line: string) => writer.write(encoder.encode(`${line}\r\n`));
  const expect = async (stage: SubmitStage, ok: number, recipient?: string) => {
    const reply = await replies.read();
    if (reply.code !== ok) throw new SubmitError(stage, reply, recipient);
    return reply;
  };
  try {
    await expect("greeting", 220);
    await send(`EHLO ${s.heloName}`);
    const offered = ehloKeywords(await expect("ehlo", 250));
    await send(mailFromCommand(s, offered));
    await expect("mail", 250);
    for (const address of s.recipients) {
      await send(rcptToCommand(address, s, offered));
      const reply = await replies.read();
      if (reply.code !== 250 && reply.code !== 251) {
        await quit(send, replies, "RSET");
        throw new SubmitError("rcpt", reply, address);
      }
    }
    await send("DATA");
    await expect("data", 354);
    await writer.write(s.data);
    const done = await expect("message", 250);
    await quit(send, replies, "QUIT");
    return done;
  } finally {
    replies.release();
    writer.releaseLock();
  }
}

/** Ends politely; the server's answer does not change the outcome. */
async function quit(send: (line: string) => Promise<void>, replies: ReplyReader, verb: string) {
  try {
    await send(verb);
    await replies.read();
    if (verb === "RSET") {
      await send("QUIT");
      await replies.read();
    }
  } catch {
    // the connection is going away anyway
  }
}
