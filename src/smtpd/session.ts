/**
 * One SMTP server session (RFC 5321): greeting, command loop, transaction
 * state, and the error/junk accounting of Postfix's smtpd(8). Replies carry
 * RFC 3463 enhanced codes except the greeting and the HELO/EHLO replies
 * (RFC 2034 3); texts follow Postfix's where one exists.
 */
import { MailError } from "../errors.ts";
import { type Connection, EndOfInputError, TimeoutError } from "../net/connection.ts";
import type { Envelope, EnvelopeRecipient } from "../queue/types.ts";
import { parsePath, type PathKind, type PathResult, splitPath } from "./address.ts";
import { type CommandLine, decodeCommand, looksLikeHeader } from "./command.ts";
import { announced, ehloKeywords, multiline } from "./ehlo.ts";
import { concat, fixBdatContent, receiveData } from "./message.ts";
import {
  type EsmtpParam,
  type MailParams,
  type ParamCapabilities,
  parseMailParams,
  parseRcptParams,
  splitParams,
} from "./params.ts";
import type { BareNewlinePolicy, SmtpdSettings } from "./settings.ts";
import type { ReceivedProtocol, SmtpdContext, SmtpdDeps } from "./types.ts";

interface Transaction {
  sender: string;
  params: MailParams;
  recipients: EnvelopeRecipient[];
  /** RCPTs refused over smtpd_recipient_limit so far. */
  overshoot: number;
  arrivalTime: number;
  /** Set by the first BDAT: received chunks. */
  bdat?: { chunks: Uint8Array[]; size: number };
}

type Handler = (session: SmtpSession, args: string) => Promise<boolean>;

interface CommandSpec {
  run: Handler;
  /** Counts toward smtpd_junk_command_limit (Postfix SMTPD_CMD_FLAG_LIMIT). */
  junk?: boolean;
  /** Must be last in a pipelined group (RFC 2920 3.1; Postfix SMTPD_CMD_FLAG_LAST). */
  last?: boolean;
}

/** Command table, in the order Postfix lists them in its disconnect log line. */
const COMMANDS: Record<string, CommandSpec> = {
  HELO: { run: (s, a) => s.helo(a, false), junk: true, last: true },
  EHLO: { run: (s, a) => s.helo(a, true), junk: true, last: true },
  STARTTLS: { run: (s) => s.notImplemented(), last: true },
  AUTH: { run: (s) => s.authNotEnabled(), last: true },
  MAIL: { run: (s, a) => s.mail(a) },
  RCPT: { run: (s, a) => s.rcpt(a) },
  DATA: { run: (s, a) => s.data(a), last: true },
  BDAT: { run: (s, a) => s.bdat(a) },
  RSET: { run: (s, a) => s.rset(a), junk: true },
  NOOP: { run: (s) => s.ok("250 2.0.0 Ok"), junk: true, last: true },
  VRFY: { run: (s, a) => s.vrfy(a), junk: true, last: true },
  ETRN: { run: (s, a) => s.etrn(a), junk: true },
  HELP: { run: (s) => s.help(), junk: true, last: true },
  QUIT: { run: (s) => s.quit() },
};

const BDAT_PIECE = 1024 * 1024;

/** Postfix valid_hostname(): dot-separated labels of letters, digits and hyphens. */
function isHostname(name: string): boolean {
  if (name.length === 0 || name.length > 255) return false;
  return name.split(".").every((label) =>
    /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)
  );
}

export class SmtpSession {
  readonly #conn: Connection;
  readonly #deps: SmtpdDeps;
  readonly #s: SmtpdSettings;
  readonly #ctx: SmtpdContext;
  #bareNewline: BareNewlinePolicy;
  #tx?: Transaction;
  #errors = 0;
  #junk = 0;
  #where = "CONNECT";
  #closing = false;
  #accessDenied?: MailError;
  readonly #stats = new Map<string, { ok: number; total: number }>();

  constructor(conn: Connection, deps: SmtpdDeps, settings: SmtpdSettings) {
    this.#conn = conn;
    this.#deps = deps;
    this.#s = settings;
    this.#ctx = {
      client: { address: conn.remote.address, port: conn.remote.port },
      esmtp: false,
      recipients: [],
      tls: conn.tls,
    };
    this.#bareNewline = settings.bareNewline;
  }

  /**
   * postconf(5) smtpd_forbid_bare_newline_exclusions: excluded clients are
   * not policed. A table that cannot answer excludes nobody.
   */
  async #bareNewlinePolicy(): Promise<BareNewlinePolicy> {
    if (this.#s.bareNewline === "no") return "no";
    const { address, hostname } = this.#ctx.client;
    try {
      return await this.#s.bareNewlineExclusions.match(address, hostname)
        ? "no"
        : this.#s.bareNewline;
    } catch (e) {
      this.#log(`warning: smtpd_forbid_bare_newline_exclusions: ${(e as Error).message}`);
      return this.#s.bareNewline;
    }
  }

  /** "host[addr]" as Postfix logs a client. */
  get namaddr(): string {
    return `${this.#ctx.client.hostname ?? "unknown"}[${this.#ctx.client.address}]`;
  }

  /** Runs the session to its end. Never throws: every failure ends in a 421 and a closed socket. */
  async run(): Promise<void> {
    const name = await this.#deps.clientHostname?.(this.#ctx.client.address).catch(() => undefined);
    if (name) this.#ctx.client.hostname = name;
    this.#log(`connect from ${this.namaddr}`);
    this.#deps.counters?.inc("smtpd_connections_total");
    try {
      await this.#serve();
    } catch (e) {
      this.#abort(e);
    } finally {
      await this.#conn.close();
      this.#log(`disconnect from ${this.namaddr}${this.#statsText()}`);
    }
  }

  async #serve(): Promise<void> {
    this.#bareNewline = await this.#bareNewlinePolicy();
    const denied = await this.#check("onConnect");
    // Postfix 3.9 smtpd_forbid_unauth_pipelining: a client that talks before the greeting.
    if (this.#conn.hasPendingInput()) {
      this.#log(`improper command pipelining before greeting from ${this.namaddr}`);
      this.#write("554 5.5.0 Error: SMTP protocol synchronization");
      return;
    }
    if (denied) {
      // RFC 5321 3.1: a refusing server answers every command but QUIT with 503.
      this.#write(denied.reply);
      if (denied.code === 421) return;
      this.#accessDenied = denied;
      this.#errors++;
    } else {
      this.#write(`220 ${this.#s.banner}`);
    }
    while (!this.#closing) {
      if (this.#errors >= this.#s.hardErrorLimit) {
        this.#log(`too many errors after ${this.#where} from ${this.namaddr}`);
        this.#write(`421 4.7.0 ${this.#s.myhostname} Error: too many errors`);
        return;
      }
      // RFC 2920 3.2: replies to a pipelined group go out when its input is used up.
      if (!this.#conn.hasBufferedLine()) await this.#conn.flush();
      const line = await this.#conn.readLine(this.#s.lineLengthLimit);
      if (line === null || line.ending === "none") throw new EndOfInputError();
      if (line.tooLong) {
        await this.#reply("500 5.5.2 Error: line too long");
        this.#count("unknown", false);
        this.#errors++;
        continue;
      }
      if (line.ending === "lf" && this.#bareNewline === "reject") {
        this.#log(`disconnect: bare <LF> received from ${this.namaddr} after ${this.#where}`);
        await this.#reply("550 5.5.2 Error: bare <LF> received");
        return;
      }
      const command = decodeCommand(line.bytes);
      if (command instanceof MailError) {
        await this.#reply(command.reply);
        this.#count("unknown", false);
        this.#errors++;
        continue;
      }
      await this.#dispatch(command);
    }
  }

  async #dispatch(command: CommandLine): Promise<void> {
    const spec = Object.hasOwn(COMMANDS, command.verb) ? COMMANDS[command.verb] : undefined;
    if (!spec && looksLikeHeader(command.text)) {
      // Postfix: message headers sent as commands are someone else's protocol.
      this.#log(`warning: non-SMTP command from ${this.namaddr}: ${command.text.slice(0, 100)}`);
      await this.#reply("521 5.7.0 Error: I can break rules, too. Goodbye.");
      this.#count("unknown", false);
      this.#closing = true;
      return;
    }
    if (this.#accessDenied && command.verb !== "QUIT") {
      if (command.verb === "BDAT") await this.#skipBdatChunk(command.args);
      await this.#reply(`503 5.7.0 Error: access denied for ${this.namaddr}`);
      this.#errors++;
      return;
    }
    if (!spec) {
      await this.#reply("502 5.5.2 Error: command not recognized");
      this.#count("unknown", false);
      this.#errors++;
      return;
    }
    this.#where = command.verb;
    const mustBeLast = !this.#ctx.esmtp || spec.last;
    if (mustBeLast && command.verb !== "BDAT" && this.#conn.hasPendingInput()) {
      // RFC 2920 3.1; Postfix 3.9 smtpd_forbid_unauth_pipelining = yes.
      this.#log(`improper command pipelining after ${command.verb} from ${this.namaddr}`);
      await this.#reply("554 5.5.0 Error: SMTP protocol synchronization");
      this.#count(command.verb, false);
      this.#closing = true;
      return;
    }
    const ok = await spec.run(this, command.args);
    this.#count(command.verb, ok);
    if (!ok) this.#errors++;
    // postconf(5) smtpd_junk_command_limit
    if (spec.junk && this.#junk++ > this.#s.junkCommandLimit) this.#errors++;
  }

  // ---- commands (called through COMMANDS) ----

  async helo(args: string, esmtp: boolean): Promise<boolean> {
    const verb = esmtp ? "EHLO" : "HELO";
    if (args === "") return this.fail(`501 Syntax: ${verb} hostname`);
    const name = args.split(/[ \t]+/).join(" ");
    const saved = this.#ctx.helo;
    this.#ctx.helo = name;
    const denied = await this.#check("onHelo");
    if (denied) {
      this.#ctx.helo = saved;
      return this.#refuse(verb, denied);
    }
    // RFC 5321 4.1.4: EHLO/HELO reset the transaction like RSET.
    this.#reset();
    // Postfix keeps ESMTP after a HELO that follows EHLO.
    if (esmtp) this.#ctx.esmtp = true;
    const lines = esmtp
      ? [this.#s.myhostname, ...ehloKeywords(this.#s, { etrn: !!this.#deps.etrn })]
      : [this.#s.myhostname];
    return await this.ok(multiline(250, lines));
  }

  async mail(args: string): Promise<boolean> {
    if (this.#s.heloRequired && this.#ctx.helo === undefined) {
      return this.fail("503 5.5.1 Error: send HELO/EHLO first");
    }
    if (this.#tx) {
      return this.fail(
        this.#tx.bdat ? "503 5.5.1 Error: MAIL after BDAT" : "503 5.5.1 Error: nested MAIL command",
      );
    }
    const from = /^FROM:(.*)$/is.exec(args);
    if (!from || from[1].trim() === "") return this.fail("501 5.5.4 Syntax: MAIL FROM:<address>");
    const parsed = this.#parseAddressAndParams(from[1], "sender");
    if (parsed instanceof MailError) return this.fail(parsed.reply);
    const params = parseMailParams(parsed.params, this.#caps());
    if (params instanceof MailError) return this.fail(params.reply);
    if (!parsed.ascii && !params.smtputf8) {
      return this.fail("553 5.6.7 Must declare SMTPUTF8 to send unicode address");
    }
    this.#ctx.sender = parsed.address;
    const denied = await this.#check("onMail");
    if (denied) {
      this.#ctx.sender = undefined;
      return this.#refuse("MAIL", denied, parsed.address);
    }
    this.#tx = {
      sender: parsed.address,
      params,
      recipients: [],
      overshoot: 0,
      arrivalTime: Date.now(),
    };
    this.#ctx.recipients = [];
    return this.ok("250 2.1.0 Ok");
  }

  async rcpt(args: string): Promise<boolean> {
    const tx = this.#tx;
    if (!tx) return this.fail("503 5.5.1 Error: need MAIL command");
    if (tx.bdat) return this.fail("503 5.5.1 Error: RCPT after BDAT");
    const to = /^TO:(.*)$/is.exec(args);
    if (!to || to[1].trim() === "") return this.fail("501 5.5.4 Syntax: RCPT TO:<address>");
    const parsed = this.#parseAddressAndParams(to[1], "recipient");
    if (parsed instanceof MailError) return this.fail(parsed.reply);
    const params = parseRcptParams(parsed.params, this.#caps());
    if (params instanceof MailError) return this.fail(params.reply);
    if (!parsed.ascii && !tx.params.smtputf8) {
      return this.fail("553 5.6.7 Must declare SMTPUTF8 to send unicode address");
    }
    if (this.#s.recipientLimit > 0 && tx.recipients.length >= this.#s.recipientLimit) {
      await this.#reply("452 4.5.3 Error: too many recipients");
      // postconf(5) smtpd_recipient_overshoot_limit: only excess beyond it counts as errors.
      return tx.overshoot++ < this.#s.recipientOvershootLimit;
    }
    this.#ctx.recipient = parsed.address;
    const denied = await this.#check("onRcpt");
    this.#ctx.recipient = undefined;
    if (denied) return this.#refuse("RCPT", denied, tx.sender, parsed.address);
    tx.recipients.push({ address: parsed.address, ...params });
    this.#ctx.recipients.push(parsed.address);
    return this.ok("250 2.1.5 Ok");
  }

  async data(args: string): Promise<boolean> {
    const tx = this.#tx;
    if (!tx) return this.fail("503 5.5.1 Error: need RCPT command");
    if (tx.bdat) return this.fail("503 5.5.1 Error: DATA after BDAT");
    // With pipelining all RCPTs may have failed; Postfix does not count that as a protocol error.
    if (tx.recipients.length === 0) return this.fail("554 5.5.1 Error: no valid recipients");
    if (args !== "") return this.fail("501 5.5.4 Syntax: DATA");
    // RFC 3030 3: BINARYMIME content can only be sent with BDAT.
    if (tx.params.body === "BINARYMIME") {
      return this.fail("503 5.5.1 Error: BODY=BINARYMIME requires BDAT");
    }
    const denied = await this.#check("onData");
    if (denied) return this.#refuse("DATA", denied, tx.sender);
    this.#write("354 End data with <CR><LF>.<CR><LF>");
    await this.#conn.flush();
    const received = await receiveData(this.#conn, {
      sizeLimit: this.#s.messageSizeLimit,
      bareNewline: this.#bareNewline,
      pieceLength: this.#s.lineLengthLimit,
    });
    if (received === null) throw new EndOfInputError();
    return await this.#finishMessage(received.content, received.tooBig, received.bareLf);
  }

  /** BDAT chunk-size [LAST] (RFC 3030 2). The chunk is always read, even when refused. */
  async bdat(args: string): Promise<boolean> {
    const count = bdatCount(args);
    if (count === undefined) {
      // Without a size the rest of the stream cannot be told apart from commands.
      await this.#reply("521 5.5.4 Syntax: BDAT count [LAST]");
      this.#closing = true;
      return false;
    }
    const last = /^\d+[ \t]+LAST$/i.test(args);
    if (!last && !/^\d+$/.test(args)) {
      await this.#conn.skipBytes(count);
      return this.fail("501 5.5.4 Syntax: BDAT count [LAST]");
    }
    const tx = this.#tx;
    const problem = !this.#ctx.esmtp || !announced(this.#s, "CHUNKING")
      ? "502 5.5.1 Error: command not implemented"
      : !tx
      ? "503 5.5.1 Error: need MAIL command"
      : tx.recipients.length === 0
      ? "554 5.5.1 Error: no valid recipients"
      : count === 0 && !last
      ? "551 5.7.1 Null BDAT request"
      : undefined;
    if (problem || !tx) {
      await this.#conn.skipBytes(count);
      if (tx?.bdat) this.#reset(); // a failed chunk fails the transaction (RFC 3030 2)
      return this.fail(problem ?? "503 5.5.1 Error: need MAIL command");
    }
    if (!tx.bdat) {
      const denied = await this.#check("onData");
      if (denied) {
        await this.#conn.skipBytes(count);
        this.#reset();
        return this.#refuse("BDAT", denied, tx.sender);
      }
      tx.bdat = { chunks: [], size: 0 };
    }
    const limit = this.#s.messageSizeLimit;
    if (limit > 0 && tx.bdat.size + count > limit) {
      await this.#conn.skipBytes(count);
      this.#reset();
      return this.fail("552 5.3.4 Message size exceeds fixed limit");
    }
    for (let got = 0; got < count;) {
      const piece = await this.#conn.readBytes(Math.min(BDAT_PIECE, count - got));
      tx.bdat.chunks.push(piece);
      got += piece.length;
    }
    tx.bdat.size += count;
    if (!last) return this.ok(`250 2.0.0 Ok: ${count} bytes`);
    const raw = concat(tx.bdat.chunks);
    if (tx.params.body === "BINARYMIME") return await this.#finishMessage(raw, false, false);
    const fixed = fixBdatContent(raw, this.#bareNewline);
    return await this.#finishMessage(fixed.content, false, fixed.bareLf);
  }

  rset(args: string): Promise<boolean> {
    if (args !== "") return this.fail("501 5.5.4 Syntax: RSET");
    this.#reset();
    return this.ok("250 2.0.0 Ok");
  }

  vrfy(args: string): Promise<boolean> {
    if (this.#s.disableVrfy) return this.fail("502 5.5.1 VRFY command is disabled");
    if (args === "") return this.fail("501 5.5.4 Syntax: VRFY address");
    // RFC 5321 3.5.3: 252 says nothing about whether the user exists.
    return this.ok("252 2.0.0 Send mail, I'll try my best");
  }

  /** RFC 1985 ETRN; checks and reply texts of Postfix's smtpd.c etrn_cmd(). */
  async etrn(args: string): Promise<boolean> {
    const flush = this.#deps.etrn;
    if (!flush) return this.notImplemented();
    if (this.#s.heloRequired && this.#ctx.helo === undefined) {
      return this.fail("503 5.5.1 Error: send HELO/EHLO first");
    }
    if (this.#tx) return this.fail("503 5.5.1 Error: MAIL transaction in progress");
    const words = args.split(/[ \t]+/).filter((w) => w !== "");
    if (words.length !== 1) return this.fail("500 5.5.2 Syntax: ETRN domain");
    // RFC 1985 5: "@domain" and "#queue" forms; Postfix skips one leading non-alphanumeric.
    const domain = /^[A-Za-z0-9]/.test(words[0]) ? words[0] : words[0].slice(1);
    if (!isHostname(domain)) return this.fail("501 5.5.4 Error: invalid parameter syntax");
    let refused: MailError | undefined;
    try {
      refused = await flush(domain);
    } catch (e) {
      this.#log(`warning: ETRN ${domain}: ${(e as Error).message}`);
      refused = new MailError(458, "4.3.0", "Unable to queue messages");
    }
    if (refused) {
      this.#log(`reject: ETRN ${domain} from ${this.namaddr}: ${refused.message}`);
      return this.fail(`${refused.code} ${refused.message}`); // RFC 1985 replies carry no enhanced code in Postfix
    }
    return this.ok("250 Queuing started");
  }

  /**
   * RFC 5321 4.1.1.8: the commands this server takes. ETRN only with a flush
   * service (as EHLO announces it); STARTTLS and AUTH join once they are offered.
   */
  help(): Promise<boolean> {
    const etrn = this.#deps.etrn ? " ETRN" : "";
    return this.ok(
      `214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY${etrn} HELP QUIT`,
    );
  }

  async quit(): Promise<boolean> {
    await this.#reply("221 2.0.0 Bye");
    this.#closing = true;
    return true;
  }

  notImplemented(): Promise<boolean> {
    return this.fail("502 5.5.1 Error: command not implemented");
  }

  authNotEnabled(): Promise<boolean> {
    return this.fail("503 5.5.1 Error: authentication not enabled");
  }

  async ok(reply: string): Promise<boolean> {
    await this.#reply(reply);
    return true;
  }

  async fail(reply: string): Promise<boolean> {
    await this.#reply(reply);
    return false;
  }

  // ---- helpers ----

  /** End of DATA or BDAT LAST: restrictions, then cleanup. The transaction ends either way. */
  async #finishMessage(content: Uint8Array, tooBig: boolean, bareLf: boolean): Promise<boolean> {
    const tx = this.#tx!;
    try {
      if (bareLf && this.#bareNewline === "reject") {
        // Postfix 3.9: reply, then disconnect.
        this.#log(`disconnect: bare <LF> received from ${this.namaddr} after ${this.#where}`);
        await this.#reply("550 5.5.2 Error: bare <LF> received");
        this.#closing = true;
        return false;
      }
      if (tooBig) {
        this.#deps.counters?.inc("smtpd_rejects_total", { stage: "END-OF-MESSAGE", code: "5.3.4" });
        return await this.fail("552 5.3.4 Message size exceeds fixed limit");
      }
      const denied = await this.#check("onEndOfData");
      if (denied) return await this.#refuse("END-OF-MESSAGE", denied, tx.sender);
      let id: string;
      try {
        const { protocol: _, ...client } = this.#client();
        id = await this.#deps.submit({
          envelope: this.#envelope(tx),
          content,
          client,
          protocol: this.#protocol(),
        });
      } catch (e) {
        if (e instanceof MailError) return await this.fail(e.reply);
        this.#log(`warning: queue file write error: ${(e as Error)?.message ?? e}`);
        return await this.fail("451 4.3.0 Error: queue file write error");
      }
      this.#log(`${id}: client=${this.namaddr}`);
      // Postfix forgives earlier errors once a message got through.
      this.#errors = 0;
      this.#junk = 0;
      return await this.ok(`250 2.0.0 Ok: queued as ${id}`);
    } finally {
      this.#reset();
    }
  }

  #envelope(tx: Transaction): Envelope {
    const envelope: Envelope = {
      sender: tx.sender,
      recipients: tx.recipients,
      arrivalTime: tx.arrivalTime,
      client: this.#client(),
    };
    if (tx.params.ret) envelope.ret = tx.params.ret;
    if (tx.params.envid !== undefined) envelope.envid = tx.params.envid;
    if (tx.params.body) envelope.bodyType = tx.params.body;
    if (tx.params.smtputf8) envelope.smtputf8 = true;
    return envelope;
  }

  /** Who sent the message, without unknown fields. */
  #client(): NonNullable<Envelope["client"]> & { protocol: ReceivedProtocol } {
    const client: NonNullable<Envelope["client"]> & { protocol: ReceivedProtocol } = {
      address: this.#ctx.client.address,
      protocol: this.#protocol(),
    };
    if (this.#ctx.client.hostname !== undefined) client.hostname = this.#ctx.client.hostname;
    if (this.#ctx.helo !== undefined) client.helo = this.#ctx.helo;
    return client;
  }

  /** RFC 3848 protocol name for Received:. */
  #protocol(): ReceivedProtocol {
    if (!this.#ctx.esmtp) return "SMTP";
    const s = this.#ctx.tls ? "S" : "";
    const a = this.#ctx.saslUser ? "A" : "";
    return `ESMTP${s}${a}` as ReceivedProtocol;
  }

  #caps(): ParamCapabilities {
    return {
      messageSizeLimit: this.#s.messageSizeLimit,
      smtputf8: this.#s.smtputf8Enable && announced(this.#s, "SMTPUTF8"),
      dsn: announced(this.#s, "DSN"),
      binarymime: announced(this.#s, "CHUNKING") && announced(this.#s, "BINARYMIME"),
    };
  }

  #parseAddressAndParams(
    text: string,
    kind: PathKind,
  ): MailError | { address: string; ascii: boolean; params: EsmtpParam[] } {
    const code = kind === "sender" ? "5.1.7" : "5.1.3";
    const what = kind === "sender" ? "Bad sender address syntax" : "Bad recipient address syntax";
    const split = splitPath(text, this.#s.strictRfc821Envelopes);
    if (!split) return new MailError(501, code, what);
    const result: PathResult = parsePath(split.path, {
      kind,
      strict: this.#s.strictRfc821Envelopes,
    });
    if (!result.ok) {
      // RFC 5321 4.5.3.1.10: "501 Path too long"; plain syntax errors keep Postfix's text.
      return new MailError(
        501,
        code,
        result.problem === "length" ? `${what}: ${result.detail}` : what,
      );
    }
    const params = splitParams(split.params);
    if (params instanceof MailError) return params;
    return { address: result.address, ascii: result.ascii, params };
  }

  /** Skips the chunk of a BDAT that is refused before its arguments are looked at. */
  async #skipBdatChunk(args: string): Promise<void> {
    const count = bdatCount(args);
    if (count === undefined) this.#closing = true;
    else await this.#conn.skipBytes(count);
  }

  /** Runs a policy hook; a thrown non-MailError is a temporary lookup failure, as in Postfix. */
  async #check(hook: keyof SmtpdDeps["policy"]): Promise<MailError | undefined> {
    try {
      return await this.#deps.policy[hook](this.#ctx);
    } catch (e) {
      if (e instanceof MailError) return e;
      this.#log(`warning: ${hook} restriction failed: ${(e as Error)?.message ?? e}`);
      return new MailError(451, "4.3.0", "Temporary lookup failure");
    }
  }

  /** A restriction refused the command: reply, and log it as Postfix's "NOQUEUE: reject:". */
  async #refuse(stage: string, error: MailError, from?: string, to?: string): Promise<boolean> {
    const parts = [
      from !== undefined ? ` from=<${from}>` : "",
      to !== undefined ? ` to=<${to}>` : "",
      ` proto=${this.#ctx.esmtp ? "ESMTP" : "SMTP"}`,
      this.#ctx.helo !== undefined ? ` helo=<${this.#ctx.helo}>` : "",
    ];
    this.#log(`NOQUEUE: reject: ${stage} from ${this.namaddr}: ${error.reply};${parts.join("")}`);
    this.#deps.counters?.inc("smtpd_rejects_total", { stage, code: error.enhanced });
    return await this.fail(error.reply);
  }

  #reset(): void {
    this.#tx = undefined;
    this.#ctx.sender = undefined;
    this.#ctx.recipient = undefined;
    this.#ctx.recipients = [];
  }

  /** Queues a reply; past smtpd_soft_error_limit errors each reply waits smtpd_error_sleep_time. */
  async #reply(text: string): Promise<void> {
    if (this.#errors >= this.#s.softErrorLimit && this.#s.errorSleepMs > 0) {
      await this.#conn.flush();
      await new Promise((r) => setTimeout(r, this.#s.errorSleepMs));
    }
    this.#write(text);
  }

  #write(text: string): void {
    this.#conn.write(`${text}\r\n`);
  }

  #abort(error: unknown): void {
    if (error instanceof TimeoutError) {
      this.#log(`timeout after ${this.#where} from ${this.namaddr}`);
      this.#write(`421 4.4.2 ${this.#s.myhostname} Error: timeout exceeded`);
    } else if (error instanceof EndOfInputError) {
      this.#log(`lost connection after ${this.#where} from ${this.namaddr}`);
    } else {
      const text = error instanceof Error ? error.stack ?? error.message : String(error);
      this.#log(`error: session with ${this.namaddr} failed after ${this.#where}: ${text}`);
      this.#write(`421 4.3.0 ${this.#s.myhostname} Server local data error`);
    }
  }

  #count(verb: string, ok: boolean): void {
    const name = verb.toLowerCase();
    const entry = this.#stats.get(name) ?? { ok: 0, total: 0 };
    entry.total++;
    if (ok) entry.ok++;
    this.#stats.set(name, entry);
  }

  /** " ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4", as Postfix's disconnect line. */
  #statsText(): string {
    const order = [...Object.keys(COMMANDS).map((k) => k.toLowerCase()), "unknown"];
    let ok = 0;
    let total = 0;
    const parts: string[] = [];
    for (const name of order) {
      const e = this.#stats.get(name);
      if (!e) continue;
      ok += e.ok;
      total += e.total;
      parts.push(`${name}=${e.ok === e.total ? e.total : `${e.ok}/${e.total}`}`);
    }
    parts.push(`commands=${ok === total ? total : `${ok}/${total}`}`);
    return " " + parts.join(" ");
  }

  #log(line: string): void {
    try {
      this.#deps.log?.(line);
    } catch {
      // A broken log sink must not end the session.
    }
  }
}

/** The chunk size of "BDAT n [LAST]", or undefined when there is none to trust. */
export function bdatCount(args: string): number | undefined {
  const m = /^(\d+)(?:[ \t]|$)/.exec(args);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}
