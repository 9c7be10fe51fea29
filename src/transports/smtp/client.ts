/**
 * The SMTP/LMTP client protocol engine (Postfix smtp(8)/lmtp(8)): one
 * session over one connection to an address the caller chose, delivering
 * messages and answering per recipient.
 *
 * Session-level failures (connect, greeting, EHLO, required TLS) come back
 * as a SessionFailure so the caller can try the next MX; everything from
 * MAIL FROM on is answered per recipient.
 */
import type { DsnNotify, RecipientResult } from "../../queue/types.ts";
import { encodeXtext } from "../../smtpd/xtext.ts";
import { isPositive, type Reply, replyDsn, replyText, saidText } from "./reply.ts";
import { ClientWire, EndOfInputError, ProtocolError, TimeoutError } from "./wire.ts";
import { dotStuff } from "./dot_stuff.ts";

/** Where to deliver: a TCP address (after MX/A lookup) or a unix socket (LMTP). */
export type SmtpTarget =
  | { host: string; address: string; port: number }
  | { host: string; path: string };

export interface SmtpRecipient {
  /** Envelope position, copied into the result. */
  index: number;
  address: string;
  /** RFC 3461 ORCPT, "rfc822;user@example.com", xtext-decoded. */
  orcpt?: string;
  notify?: DsnNotify[];
}

export interface SmtpMessage {
  sender: string;
  recipients: SmtpRecipient[];
  /** CRLF line ends, as stored. */
  content: Uint8Array;
  bodyType?: "7BIT" | "8BITMIME" | "BINARYMIME";
  smtputf8?: boolean;
  ret?: "FULL" | "HDRS";
  envid?: string;
}

/** Per-phase timeouts in ms (postconf(5) smtp_*_timeout); 0 = none. */
export interface SmtpTimeouts {
  connect: number;
  helo: number;
  mail: number;
  rcpt: number;
  dataInit: number;
  dataXfer: number;
  dataDone: number;
  quit: number;
}

export interface SmtpSettings {
  /** postconf(5) smtp_helo_name */
  heloName: string;
  /** postconf(5) smtp_tls_security_level: "" and "none" never, "may" opportunistic, "encrypt" required. */
  tlsSecurityLevel: string;
  timeouts: SmtpTimeouts;
}

export interface SmtpOptions {
  /** RFC 2033: LHLO, and one end-of-data reply per accepted recipient. */
  lmtp?: boolean;
}

/** The whole attempt failed before any transaction: try the next host, or defer/bounce all. */
export interface SessionFailure {
  kind: "failed";
  temporary: boolean;
  dsn: string;
  reason: string;
  relay: string;
}

export interface Delivered {
  kind: "done";
  results: RecipientResult[];
  relay: string;
}

export type SmtpOutcome = Delivered | SessionFailure;

/** What EHLO announced (RFC 5321 4.1.1.1). */
export interface ServerFeatures {
  esmtp: boolean;
  pipelining: boolean;
  /** RFC 1870 SIZE limit; 0 = announced without a limit; undefined = not announced. */
  size?: number;
  eightBitMime: boolean;
  smtputf8: boolean;
  dsn: boolean;
  starttls: boolean;
}

/** Parses the EHLO reply lines after the first (one keyword per line). */
export function parseFeatures(reply: Reply): ServerFeatures {
  const f: ServerFeatures = {
    esmtp: true,
    pipelining: false,
    eightBitMime: false,
    smtputf8: false,
    dsn: false,
    starttls: false,
  };
  for (const line of reply.lines.slice(1)) {
    const [keyword, ...params] = line.trim().toUpperCase().split(/\s+/);
    if (keyword === "PIPELINING") f.pipelining = true;
    else if (keyword === "8BITMIME") f.eightBitMime = true;
    else if (keyword === "SMTPUTF8") f.smtputf8 = true;
    else if (keyword === "DSN") f.dsn = true;
    else if (keyword === "STARTTLS") f.starttls = true;
    else if (keyword === "SIZE") {
      const n = Number(params[0] ?? "0");
      f.size = Number.isSafeInteger(n) && n >= 0 ? n : 0;
    }
  }
  return f;
}

const PLAIN: ServerFeatures = {
  esmtp: false,
  pipelining: false,
  eightBitMime: false,
  smtputf8: false,
  dsn: false,
  starttls: false,
};

/** "host[addr]:port", or "host[path]" for a unix socket (Postfix's relay= form). */
export function relayName(target: SmtpTarget): string {
  return "path" in target
    ? `${target.host}[${target.path}]`
    : `${target.host}[${target.address}]:${target.port}`;
}

function serverName(target: SmtpTarget): string {
  return "path" in target ? `${target.host}[${target.path}]` : `${target.host}[${target.address}]`;
}

/** A failure inside the conversation, turned into a result by the caller. */
class Failure extends Error {
  constructor(readonly temporary: boolean, readonly dsn: string, reason: string) {
    super(reason);
  }
}

/** The I/O error while doing `what` ("sending MAIL FROM"), as Postfix words it. */
function ioFailure(e: unknown, server: string, what: string): Failure {
  if (e instanceof Failure) return e;
  if (e instanceof TimeoutError) {
    return new Failure(true, "4.4.2", `conversation with ${server} timed out while ${what}`);
  }
  if (e instanceof ProtocolError) {
    return new Failure(true, "4.5.0", `${server} ${e.message} while ${what}`);
  }
  if (e instanceof EndOfInputError || isSocketError(e)) {
    return new Failure(true, "4.4.2", `lost connection with ${server} while ${what}`);
  }
  const text = e instanceof Error ? e.message : String(e);
  return new Failure(true, "4.4.2", `error talking to ${server} while ${what}: ${text}`);
}

function isSocketError(e: unknown): boolean {
  return e instanceof Error && typeof (e as { code?: unknown }).code === "string";
}

/** A non-2xx reply as a Failure with the server's words. */
function replyFailure(server: string, reply: Reply, command: string): Failure {
  return new Failure(reply.code < 500, replyDsn(reply), saidText(server, reply, command));
}

const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s);
const has8bit = (b: Uint8Array) => b.some((byte) => byte >= 0x80);

/**
 * One client session. `open` connects and greets; `send` delivers one
 * message (RSET before the second and later ones); `close` says QUIT.
 */
export class SmtpSession {
  readonly relay: string;
  readonly features: ServerFeatures;
  #wire: ClientWire;
  #server: string;
  #settings: SmtpSettings;
  #lmtp: boolean;
  #transactions = 0;
  #broken = false;
  #lostBeforeMail = false;

  private constructor(
    wire: ClientWire,
    target: SmtpTarget,
    features: ServerFeatures,
    settings: SmtpSettings,
    lmtp: boolean,
  ) {
    this.#wire = wire;
    this.relay = relayName(target);
    this.#server = serverName(target);
    this.features = features;
    this.#settings = settings;
    this.#lmtp = lmtp;
  }

  /** The connection is unusable (I/O failure, timeout): only close() remains. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Still connected: the server has not closed it while it sat idle. */
  get open(): boolean {
    return !this.#broken && this.#wire.open;
  }

  /** TLS is active on the connection (part of a cached connection's identity). */
  get tls(): boolean {
    return this.#wire.tls;
  }

  /**
   * The last send() failed at RSET, before any MAIL FROM: nothing was
   * delivered, so a reused connection's failure may be retried on a new one.
   */
  get lostBeforeMail(): boolean {
    return this.#lostBeforeMail;
  }

  static async open(
    target: SmtpTarget,
    settings: SmtpSettings,
    options: SmtpOptions = {},
  ): Promise<SmtpSession | SessionFailure> {
    const relay = relayName(target);
    const server = serverName(target);
    const fail = (f: Failure): SessionFailure => ({
      kind: "failed",
      temporary: f.temporary,
      dsn: f.dsn,
      reason: f.message,
      relay,
    });
    const t = settings.timeouts;
    let wire: ClientWire;
    try {
      wire = await ClientWire.connect(target, t.connect);
    } catch (e) {
      // smtp(8) logs relay=none until a connection exists.
      return {
        ...fail(new Failure(true, "4.4.1", `connect to ${relay}: ${connectError(e)}`)),
        relay: "none",
      };
    }
    try {
      const features = await greet(wire, server, settings, options.lmtp ?? false, target.host);
      return new SmtpSession(wire, target, features, settings, options.lmtp ?? false);
    } catch (e) {
      wire.destroy();
      return fail(ioFailure(e, server, "receiving the initial server greeting"));
    }
  }

  /** Delivers one message; never rejects for a protocol or I/O problem. */
  async send(message: SmtpMessage): Promise<RecipientResult[]> {
    const all = (f: Failure) => message.recipients.map((r) => this.#result(r.index, f));
    if (this.#broken) {
      return all(new Failure(true, "4.4.2", `lost connection with ${this.#server}`));
    }
    const refused = this.#checkMessage(message);
    if (refused) return all(refused);
    let reset = this.#transactions++ === 0;
    try {
      if (!reset) await this.#rset();
      reset = true;
      return await this.#transaction(message);
    } catch (e) {
      this.#broken = true;
      this.#wire.destroy();
      this.#lostBeforeMail = !reset;
      const phase = e instanceof Phase ? e.what : "sending message body";
      return all(ioFailure(e instanceof Phase ? e.cause : e, this.#server, phase));
    }
  }

  /** QUIT (best effort) and close. */
  async close(): Promise<void> {
    if (!this.#broken) {
      try {
        await this.#wire.write("QUIT\r\n", this.#settings.timeouts.quit);
        await this.#wire.readReply(this.#settings.timeouts.quit);
      } catch {
        // The message is delivered already; a QUIT problem changes nothing.
      }
    }
    await this.#wire.close();
  }

  /** Refusals decided before sending anything: SIZE (RFC 1870), SMTPUTF8 (RFC 6531). */
  #checkMessage(message: SmtpMessage): Failure | undefined {
    const size = this.features.size;
    if (size && message.content.length > size) {
      // Postfix smtp(8): "message size %ld exceeds size limit %.0f of server %s"
      return new Failure(
        false,
        "5.3.4",
        `message size ${message.content.length} exceeds size limit ${size} of server ${this.#server}`,
      );
    }
    const addresses = [message.sender, ...message.recipients.map((r) => r.address)];
    if (!this.features.smtputf8 && !addresses.every(isAscii)) {
      return new Failure(
        false,
        "5.6.7",
        `SMTPUTF8 is required, but was not offered by host ${this.#server}`,
      );
    }
    return undefined;
  }

  #result(index: number, f: Failure): RecipientResult {
    const status = f.temporary ? "deferred" : "bounced";
    return { index, status, dsn: f.dsn, reason: f.message, relay: this.relay };
  }

  async #rset(): Promise<void> {
    const t = this.#settings.timeouts.helo;
    await phase("sending RSET", async () => {
      await this.#wire.write("RSET\r\n", t);
      const reply = await this.#wire.readReply(t);
      if (!isPositive(reply)) throw replyFailure(this.#server, reply, "RSET");
    });
  }

  async #transaction(message: SmtpMessage): Promise<RecipientResult[]> {
    const t = this.#settings.timeouts;
    const wire = this.#wire;
    const mail = mailCommand(message, this.features);
    const rcpts = message.recipients.map((r) => rcptCommand(r, this.features));
    const pipelining = this.features.pipelining;
    const results = new Map<number, RecipientResult>();
    const accepted: SmtpRecipient[] = [];

    // RFC 2920 3.1: MAIL, RCPT... and DATA in one write when pipelining.
    if (pipelining) {
      await phase(
        "sending MAIL FROM",
        () => wire.write(mail + rcpts.join("") + "DATA\r\n", t.mail),
      );
    } else {
      await phase("sending MAIL FROM", () => wire.write(mail, t.mail));
    }
    const mailReply = await phase("sending MAIL FROM", () => wire.readReply(t.mail));
    const mailOk = isPositive(mailReply);
    if (!mailOk && !pipelining) {
      return this.#allFailed(message, replyFailure(this.#server, mailReply, "MAIL FROM"));
    }
    for (const [i, r] of message.recipients.entries()) {
      if (!pipelining) await phase("sending RCPT TO", () => wire.write(rcpts[i], t.rcpt));
      const reply = await phase("sending RCPT TO", () => wire.readReply(t.rcpt));
      if (!mailOk) continue; // the MAIL FROM refusal decides (pipelined replies are read anyway)
      if (isPositive(reply)) {
        accepted.push(r);
      } else {
        const f = replyFailure(this.#server, reply, "RCPT TO");
        results.set(r.index, this.#result(r.index, f));
      }
    }
    if (!pipelining && accepted.length === 0) return this.#finish(message, results);
    if (!pipelining) await phase("sending DATA command", () => wire.write("DATA\r\n", t.dataInit));
    const dataReply = await phase("sending DATA command", () => wire.readReply(t.dataInit));
    if (!mailOk || accepted.length === 0) {
      // RFC 2920 3.1: a pipelined DATA may still get 354 with nothing to send;
      // an empty message closes it (Postfix smtp(8) does the same).
      if (dataReply.code === 354) {
        await phase("sending end of data", async () => {
          await wire.write(".\r\n", t.dataDone);
          await wire.readReply(t.dataDone);
        });
      }
      if (!mailOk) {
        return this.#allFailed(message, replyFailure(this.#server, mailReply, "MAIL FROM"));
      }
      return this.#finish(message, results);
    }
    if (dataReply.code !== 354) {
      const f = replyFailure(this.#server, dataReply, "DATA");
      for (const r of accepted) results.set(r.index, this.#result(r.index, f));
      return this.#finish(message, results);
    }
    await phase("sending message body", () => wire.write(dotStuff(message.content), t.dataXfer));
    await phase("sending message body", () => wire.write(".\r\n", t.dataXfer));
    // RFC 2033 4.2: LMTP answers the final dot once per accepted recipient.
    const replies = this.#lmtp ? accepted.length : 1;
    for (let i = 0; i < replies; i++) {
      const reply = await phase(
        "sending end of data -- message may be sent more than once",
        () => wire.readReply(t.dataDone),
      );
      const targets = this.#lmtp ? [accepted[i]] : accepted;
      for (const r of targets) results.set(r.index, this.#endOfData(r, reply));
    }
    return this.#finish(message, results);
  }

  #endOfData(r: SmtpRecipient, reply: Reply): RecipientResult {
    if (!isPositive(reply)) {
      return this.#result(r.index, replyFailure(this.#server, reply, "end of DATA"));
    }
    // Postfix: "250 2.0.0 Ok: queued as X" becomes the status text.
    const result: RecipientResult = {
      index: r.index,
      status: "sent",
      dsn: replyDsn(reply),
      reason: replyText(reply),
      relay: this.relay,
    };
    // Postfix smtp_rcpt_done: without DSN at the next hop, NOTIFY=SUCCESS is answered here.
    if (!this.features.dsn) result.successAction = this.#lmtp ? "delivered" : "relayed";
    return result;
  }

  #allFailed(message: SmtpMessage, f: Failure): RecipientResult[] {
    return message.recipients.map((r) => this.#result(r.index, f));
  }

  #finish(message: SmtpMessage, results: Map<number, RecipientResult>): RecipientResult[] {
    return message.recipients.map((r) => results.get(r.index)!);
  }
}

/** An I/O failure tagged with what the client was doing. */
class Phase extends Error {
  constructor(readonly what: string, override readonly cause: unknown) {
    super(what);
  }
}

async function phase<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof Failure || e instanceof Phase) throw e;
    throw new Phase(what, e);
  }
}

/** Greeting, EHLO/LHLO (HELO fallback), STARTTLS and the second EHLO. */
async function greet(
  wire: ClientWire,
  server: string,
  settings: SmtpSettings,
  lmtp: boolean,
  host: string,
): Promise<ServerFeatures> {
  const t = settings.timeouts;
  const greeting = await wire.readReply(t.helo);
  if (greeting.code !== 220) {
    // Postfix smtp(8) wording for a 4xx/5xx greeting.
    const text = `host ${server} refused to talk to me: ${replyText(greeting)}`;
    throw new Failure(greeting.code < 500, replyDsn(greeting), text);
  }
  let features = await hello(wire, server, settings, lmtp);
  const level = settings.tlsSecurityLevel;
  if (level === "may" || level === "encrypt") {
    if (features.starttls) {
      const reply = await exchange(
        wire,
        "STARTTLS\r\n",
        t.helo,
        server,
        "performing the EHLO handshake",
      );
      if (reply.code === 220) {
        await wire.startTls(host, t.helo).catch((e) => {
          throw new Failure(
            true,
            "4.7.5",
            `Cannot start TLS: handshake failure with ${server}: ${e}`,
          );
        });
        features = await hello(wire, server, settings, lmtp);
      } else if (level === "encrypt") {
        throw replyFailure(server, reply, "STARTTLS");
      }
    } else if (level === "encrypt") {
      // postconf(5) smtp_tls_security_level=encrypt: no TLS, no delivery.
      throw new Failure(true, "4.7.4", `TLS is required, but was not offered by host ${server}`);
    }
  }
  return features;
}

/** EHLO (LHLO for LMTP); on a 5xx, HELO (not for LMTP: RFC 2033 4.1 has LHLO only). */
async function hello(
  wire: ClientWire,
  server: string,
  settings: SmtpSettings,
  lmtp: boolean,
): Promise<ServerFeatures> {
  const t = settings.timeouts.helo;
  const name = settings.heloName;
  const what = "performing the EHLO handshake";
  const verb = lmtp ? "LHLO" : "EHLO";
  const ehlo = await exchange(wire, `${verb} ${name}\r\n`, t, server, what);
  if (isPositive(ehlo)) return parseFeatures(ehlo);
  if (lmtp || ehlo.code < 500) throw replyFailure(server, ehlo, verb);
  const helo = await exchange(wire, `HELO ${name}\r\n`, t, server, "performing the HELO handshake");
  if (isPositive(helo)) return PLAIN;
  throw replyFailure(server, helo, "HELO");
}

async function exchange(
  wire: ClientWire,
  command: string,
  timeoutMs: number,
  server: string,
  what: string,
): Promise<Reply> {
  try {
    await wire.write(command, timeoutMs);
    return await wire.readReply(timeoutMs);
  } catch (e) {
    throw ioFailure(e, server, what);
  }
}

/** MAIL FROM with the parameters the server announced. */
export function mailCommand(message: SmtpMessage, f: ServerFeatures): string {
  let cmd = `MAIL FROM:<${message.sender}>`;
  if (f.size !== undefined) cmd += ` SIZE=${message.content.length}`; // RFC 1870 6
  // RFC 6152: BODY=8BITMIME when the content is 8-bit. Without 8BITMIME the
  // content goes as is (Postfix with disable_mime_output_conversion=yes).
  const eightBit = message.bodyType === "8BITMIME" || message.bodyType === "BINARYMIME" ||
    has8bit(message.content);
  if (f.eightBitMime && eightBit) cmd += " BODY=8BITMIME";
  const addresses = [message.sender, ...message.recipients.map((r) => r.address)];
  if (f.smtputf8 && (message.smtputf8 || !addresses.every(isAscii))) cmd += " SMTPUTF8"; // RFC 6531 3.4
  if (f.dsn) { // RFC 3461 4.3, 4.4
    if (message.ret) cmd += ` RET=${message.ret}`;
    if (message.envid) cmd += ` ENVID=${encodeXtext(message.envid)}`;
  }
  return cmd + "\r\n";
}

/** RCPT TO with DSN parameters when the server announced DSN (RFC 3461 4.1, 4.2). */
export function rcptCommand(r: SmtpRecipient, f: ServerFeatures): string {
  let cmd = `RCPT TO:<${r.address}>`;
  if (f.dsn) {
    if (r.notify?.length) cmd += ` NOTIFY=${r.notify.join(",")}`;
    if (r.orcpt) {
      const semi = r.orcpt.indexOf(";");
      if (semi > 0) {
        cmd += ` ORCPT=${r.orcpt.slice(0, semi)};${encodeXtext(r.orcpt.slice(semi + 1))}`;
      }
    }
  }
  return cmd + "\r\n";
}

/** "Connection refused" from ECONNREFUSED, like Postfix's strerror text. */
function connectError(e: unknown): string {
  const code = (e as { code?: string })?.code;
  if (e instanceof TimeoutError) return "Connection timed out";
  if (code === "ECONNREFUSED") return "Connection refused";
  if (code === "ECONNRESET") return "Connection reset by peer";
  if (code === "ENOENT") return "No such file or directory";
  if (code === "EHOSTUNREACH") return "No route to host";
  if (code === "ENETUNREACH") return "Network is unreachable";
  return e instanceof Error ? e.message : String(e);
}

/**
 * Delivers one message over one new connection and says QUIT: the
 * per-recipient results, or a SessionFailure (try the next host).
 */
export async function deliverSmtp(
  target: SmtpTarget,
  message: SmtpMessage,
  settings: SmtpSettings,
  options: SmtpOptions = {},
): Promise<SmtpOutcome> {
  const session = await SmtpSession.open(target, settings, options);
  if (!(session instanceof SmtpSession)) return session;
  const results = await session.send(message);
  await session.close();
  return { kind: "done", results, relay: session.relay };
}

/** A SessionFailure as the same result for every recipient (no other host to try). */
export function failAll(
  failure: SessionFailure,
  recipients: { index: number }[],
): RecipientResult[] {
  return recipients.map((r) => ({
    index: r.index,
    status: failure.temporary ? "deferred" : "bounced",
    dsn: failure.dsn,
    reason: failure.reason,
    relay: failure.relay,
  }));
}
