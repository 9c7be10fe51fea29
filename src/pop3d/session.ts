/**
 * One POP3 server session (RFC 1939): greeting, AUTHORIZATION (USER/PASS,
 * RFC 5034 AUTH PLAIN), TRANSACTION, and UPDATE at QUIT. Extensions from
 * RFC 2449: CAPA, response codes ([IN-USE] 8.1; [AUTH], [SYS/TEMP],
 * [SYS/PERM] from RFC 3206), pipelining (commands are answered in order;
 * replies go out when the client's input is used up).
 */
import type { LoginThrottle } from "../auth/throttle.ts";
import { MailError } from "../errors.ts";
import { type Connection, EndOfInputError, TimeoutError } from "../net/connection.ts";
import { clip, type CommandLine, parseCommand, parseNumber } from "./command.ts";
import { MaildropView } from "./maildrop_view.ts";
import { retrText, topText, type WireText } from "./message_text.ts";
import { parsePlain } from "./sasl.ts";
import { isLoopback, type Pop3dSettings } from "./settings.ts";
import type { Pop3Backend, Pop3Maildrop } from "./types.ts";
import type { UserSessions } from "./user_sessions.ts";

export interface SessionContext {
  backend: Pop3Backend;
  settings: Pop3dSettings;
  throttle: LoginThrottle;
  users: UserSessions;
  log: (line: string) => void;
}

type State = "authorization" | "transaction";
type Handler = (session: Pop3Session, command: CommandLine) => Promise<void>;

/** RFC 1939 4 and 5 (+ RFC 2449 CAPA in both, RFC 5034 AUTH in AUTHORIZATION). */
const COMMANDS: Record<State, Record<string, Handler>> = {
  authorization: {
    USER: (s, c) => s.user(c),
    PASS: (s, c) => s.pass(c),
    AUTH: (s, c) => s.auth(c),
    CAPA: (s, c) => s.capa(c),
    QUIT: (s, c) => s.quit(c),
  },
  transaction: {
    STAT: (s, c) => s.stat(c),
    LIST: (s, c) => s.list(c),
    RETR: (s, c) => s.retr(c),
    DELE: (s, c) => s.dele(c),
    NOOP: (s, c) => s.noop(c),
    RSET: (s, c) => s.rset(c),
    TOP: (s, c) => s.top(c),
    UIDL: (s, c) => s.uidl(c),
    CAPA: (s, c) => s.capa(c),
    QUIT: (s, c) => s.quit(c),
  },
};

const PLAINTEXT_REFUSED = "[AUTH] Plaintext authentication disallowed on non-secure connections";
/** Multi-line responses above this are sent at once rather than queued behind later ones. */
const FLUSH_ABOVE = 64 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Pop3Session {
  readonly #conn: Connection;
  readonly #ctx: SessionContext;
  readonly #s: Pop3dSettings;
  readonly #started = Date.now();
  #state: State = "authorization";
  /** The USER name waiting for PASS (RFC 1939 7: PASS only right after USER). */
  #pendingUser?: string;
  /** The last user name tried (for the logs). */
  #triedUser = "";
  #method = "";
  #authAttempts = 0;
  #authFailures = 0;
  #errors = 0;
  #closing = false;
  /** Why the session ended, for the disconnect line. */
  #reason = "Connection closed";
  #account?: string;
  #drop?: Pop3Maildrop;
  #view?: MaildropView;
  readonly #stats = { top: 0, topBytes: 0, retr: 0, retrBytes: 0, deleted: 0 };
  #queued = 0;

  constructor(conn: Connection, ctx: SessionContext) {
    this.#conn = conn;
    this.#ctx = ctx;
    this.#s = ctx.settings;
  }

  /** Runs the session to its end. Never throws; the maildrop is always released. */
  async run(): Promise<void> {
    try {
      this.#ok(this.#s.greeting);
      await this.#serve();
    } catch (e) {
      this.#abort(e);
    } finally {
      // The lock goes first: a client slow to close must not keep its maildrop locked.
      this.#finish();
      await this.#conn.close();
    }
  }

  get #secured(): boolean {
    return this.#conn.tls || isLoopback(this.#conn.remote.address);
  }

  async #serve(): Promise<void> {
    while (!this.#closing) {
      // RFC 2449 6.6: pipelined commands are answered in order, sent when their input is used up.
      if (!this.#conn.hasBufferedLine()) await this.#flush();
      const line = await this.#conn.readLine(this.#s.lineLengthLimit);
      if (line === null || line.ending === "none") return; // the client left without QUIT
      if (line.tooLong) {
        this.#pendingUser = undefined;
        this.#fail(`Command line too long (over ${this.#s.lineLengthLimit} octets)`);
        continue;
      }
      const command = parseCommand(line.bytes);
      if (typeof command === "string") {
        this.#pendingUser = undefined;
        this.#fail(command);
        continue;
      }
      await this.#dispatch(command);
    }
  }

  async #dispatch(command: CommandLine): Promise<void> {
    const table = COMMANDS[this.#state];
    const handler = Object.hasOwn(table, command.verb) ? table[command.verb] : undefined;
    if (command.verb !== "PASS") this.#pendingUser = undefined;
    if (handler) return await handler(this, command);
    const verb = clip(command.verb, 20);
    if (this.#state === "authorization" && Object.hasOwn(COMMANDS.transaction, command.verb)) {
      return this.#fail(`${verb} is not valid before login: use USER/PASS or AUTH first`);
    }
    if (this.#state === "transaction" && Object.hasOwn(COMMANDS.authorization, command.verb)) {
      return this.#fail(`${verb} is not valid after login`);
    }
    if (command.verb === "APOP") return this.#fail("APOP is not offered: use USER/PASS or AUTH");
    this.#fail(`Unknown command: ${verb}`);
  }

  // ---- AUTHORIZATION (RFC 1939 4, 7; RFC 5034) ----

  user(c: CommandLine): Promise<void> {
    if (!this.#plaintextAllowed()) return this.#refusePlaintext();
    const name = c.rest.trim();
    if (name === "") return this.#failAsync("USER: missing user name");
    this.#pendingUser = name;
    this.#ok("Send PASS");
    return Promise.resolve();
  }

  async pass(c: CommandLine): Promise<void> {
    const user = this.#pendingUser;
    this.#pendingUser = undefined;
    if (user === undefined) return this.#fail("PASS: send USER first");
    // RFC 1939 7: the password is the rest of the line, spaces included.
    if (c.rest === "") return this.#fail("PASS: missing password");
    if (!this.#plaintextAllowed()) return await this.#refusePlaintext();
    await this.#login(user, c.rest, "PLAIN");
  }

  async auth(c: CommandLine): Promise<void> {
    const mechanisms = this.#mechanisms();
    if (c.args.length === 0) {
      // Pre-RFC 5034 discovery (Outlook sends it; Dovecot answers it): list the mechanisms.
      return this.#multiline("+OK", mechanisms);
    }
    if (c.args.length > 2) return this.#fail("AUTH: too many arguments");
    const mechanism = c.args[0].toUpperCase();
    if (mechanism !== "PLAIN") {
      return this.#fail(`Unsupported authentication mechanism: ${clip(c.args[0], 20)}`);
    }
    if (!this.#plaintextAllowed()) return await this.#refusePlaintext();
    let response = c.args[1];
    if (response === undefined) {
      // RFC 5034 4: an empty challenge, "+ ", then the client's line.
      this.#write("+ ");
      await this.#flush();
      const line = await this.#conn.readLine(this.#s.lineLengthLimit);
      if (line === null || line.ending === "none") throw new EndOfInputError();
      if (line.tooLong) return this.#fail("SASL response too long");
      response = new TextDecoder().decode(line.bytes).trim();
      // RFC 5034 4: "*" cancels; the server MUST answer -ERR.
      if (response === "*") return this.#fail("Authentication cancelled");
    }
    const plain = parsePlain(response);
    if (typeof plain === "string") return this.#fail(plain);
    if (plain.authzid !== "" && plain.authzid !== plain.authcid) {
      this.#triedUser = plain.authcid;
      return this.#fail(
        "[AUTH] Logging in as another user (authorization identity) is not allowed",
      );
    }
    await this.#login(plain.authcid, plain.password, "PLAIN");
  }

  /** Throttle, verify, take the per-user slot, open and lock the maildrop. */
  async #login(user: string, password: string, method: string): Promise<void> {
    const client = this.#conn.remote.address;
    const throttle = this.#ctx.throttle;
    this.#triedUser = user;
    this.#method = method;
    this.#authAttempts++;
    const delay = throttle.delayFor(client, user);
    if (delay > 0) {
      await this.#flush();
      await sleep(delay);
    }
    let verified: { account: string } | undefined;
    try {
      verified = await this.#ctx.backend.authenticate(user, password, client);
    } catch (e) {
      this.#log(`warning: authentication of user=<${user}> failed: ${errorText(e)}`);
      return this.#fail(`${sysCode(e)} Temporary authentication failure, try again later`);
    }
    if (!verified) {
      throttle.recordFailure(client, user);
      this.#authFailures++;
      this.#log(`warning: authentication failed: user=<${user}>, method=${method}, ${this.#ips()}`);
      if (this.#authFailures >= this.#s.authFailureLimit) {
        this.#reason = "Too many authentication failures";
        this.#closing = true;
        return this.#err("[AUTH] Authentication failed. Too many failures: closing connection");
      }
      return this.#err("[AUTH] Authentication failed.");
    }
    throttle.recordSuccess(client, user);
    await this.#openMaildrop(verified.account);
  }

  async #openMaildrop(account: string): Promise<void> {
    const limit = this.#s.userSessionLimit;
    if (!this.#ctx.users.acquire(account, limit)) {
      this.#log(`warning: user=<${account}>, ${this.#ips()}: over ${limit} concurrent sessions`);
      return this.#err(`[IN-USE] Too many sessions for this user (limit ${limit})`);
    }
    let drop: Pop3Maildrop | "in-use";
    try {
      drop = await this.#ctx.backend.open(account);
    } catch (e) {
      this.#ctx.users.release(account);
      this.#log(`warning: user=<${account}>: cannot open INBOX: ${errorText(e)}`);
      return this.#err(`${sysCode(e)} Cannot open the mailbox, try again later`);
    }
    if (drop === "in-use") {
      this.#ctx.users.release(account);
      this.#log(`user=<${account}>, ${this.#ips()}: mailbox in use by another session`);
      return this.#err("[IN-USE] Mailbox is locked by another POP3 session");
    }
    this.#account = account;
    this.#drop = drop;
    this.#view = new MaildropView(drop.messages);
    this.#state = "transaction";
    const secured = this.#secured ? ", secured" : "";
    this.#log(`Login: user=<${account}>, method=${this.#method}, ${this.#ips()}${secured}`);
    const { count, octets } = this.#view.stat();
    this.#ok(`Logged in: ${count} messages (${octets} octets)`);
  }

  // ---- TRANSACTION (RFC 1939 5, 7) ----

  stat(c: CommandLine): Promise<void> {
    if (c.args.length > 0) return this.#failAsync("STAT takes no argument");
    const { count, octets } = this.#mustView().stat();
    this.#ok(`${count} ${octets}`);
    return Promise.resolve();
  }

  list(c: CommandLine): Promise<void> {
    const view = this.#mustView();
    if (c.args.length > 1) return this.#failAsync("LIST: too many arguments");
    if (c.args.length === 1) {
      const found = view.find(c.args[0]);
      if (typeof found === "string") return this.#failAsync(found);
      this.#ok(`${found.number} ${found.message.size}`);
      return Promise.resolve();
    }
    const { count, octets } = view.stat();
    const lines = view.visible().map((m) => `${m.number} ${m.message.size}`);
    this.#multiline(`+OK ${count} messages (${octets} octets)`, lines);
    return Promise.resolve();
  }

  uidl(c: CommandLine): Promise<void> {
    const view = this.#mustView();
    if (c.args.length > 1) return this.#failAsync("UIDL: too many arguments");
    if (c.args.length === 1) {
      const found = view.find(c.args[0]);
      if (typeof found === "string") return this.#failAsync(found);
      this.#ok(`${found.number} ${found.message.uidl}`);
      return Promise.resolve();
    }
    const lines = view.visible().map((m) => `${m.number} ${m.message.uidl}`);
    this.#multiline("+OK Unique-ID listing follows", lines);
    return Promise.resolve();
  }

  async retr(c: CommandLine): Promise<void> {
    if (c.args.length !== 1) {
      return this.#fail(
        c.args.length === 0 ? "RETR: missing message number" : "RETR: too many arguments",
      );
    }
    const found = this.#mustView().find(c.args[0]);
    if (typeof found === "string") return this.#fail(found);
    const text = await this.#read(found.number, retrText);
    if (!text) return;
    this.#stats.retr++;
    this.#stats.retrBytes += text.messageOctets;
    await this.#sendText(`+OK ${found.message.size} octets`, text);
  }

  async top(c: CommandLine): Promise<void> {
    if (c.args.length !== 2) {
      return this.#fail(
        c.args.length < 2
          ? "TOP: expected a message number and a number of lines"
          : "TOP: too many arguments",
      );
    }
    const found = this.#mustView().find(c.args[0]);
    if (typeof found === "string") return this.#fail(found);
    // Clients ask for "all lines" with big counts (fetchmail: TOP n 99999999); any size is fine.
    const lines = parseNumber(c.args[1], "number of lines", 15);
    if (typeof lines === "string") return this.#fail(lines);
    const text = await this.#read(found.number, (bytes) => topText(bytes, lines));
    if (!text) return;
    this.#stats.top++;
    this.#stats.topBytes += text.messageOctets;
    await this.#sendText("+OK Top of message follows", text);
  }

  dele(c: CommandLine): Promise<void> {
    if (c.args.length !== 1) {
      return this.#failAsync(
        c.args.length === 0 ? "DELE: missing message number" : "DELE: too many arguments",
      );
    }
    const view = this.#mustView();
    const found = view.find(c.args[0]);
    if (typeof found === "string") return this.#failAsync(found);
    view.markDeleted(found.number);
    this.#ok(`Message ${found.number} deleted`);
    return Promise.resolve();
  }

  noop(c: CommandLine): Promise<void> {
    if (c.args.length > 0) return this.#failAsync("NOOP takes no argument");
    this.#ok("");
    return Promise.resolve();
  }

  rset(c: CommandLine): Promise<void> {
    if (c.args.length > 0) return this.#failAsync("RSET takes no argument");
    const view = this.#mustView();
    view.reset();
    const { count, octets } = view.stat();
    this.#ok(`Maildrop has ${count} messages (${octets} octets)`);
    return Promise.resolve();
  }

  // ---- both states ----

  capa(c: CommandLine): Promise<void> {
    if (c.args.length > 0) return this.#failAsync("CAPA takes no argument");
    // RFC 2449 6; USER and SASL only where a login can still happen (and is allowed).
    const lines = ["CAPA", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"];
    if (this.#state === "authorization" && this.#plaintextAllowed()) {
      lines.push("USER", `SASL ${this.#mechanisms().join(" ")}`);
    }
    lines.push("IMPLEMENTATION facteur");
    this.#multiline("+OK Capability list follows", lines);
    return Promise.resolve();
  }

  /** RFC 1939 6: QUIT in TRANSACTION enters UPDATE: the marked messages are removed now. */
  async quit(c: CommandLine): Promise<void> {
    if (c.args.length > 0) return this.#fail("QUIT takes no argument");
    this.#closing = true;
    this.#reason = "Logged out";
    const drop = this.#drop;
    const view = this.#view;
    if (!drop || !view) return this.#ok("Logging out.");
    const deleted = view.deletedIndexes();
    try {
      await drop.commit(deleted);
    } catch (e) {
      this.#log(`warning: user=<${this.#account}>: removing deleted messages: ${errorText(e)}`);
      this.#reason = "Logged out (deleting messages failed)";
      return this.#err(`${sysCode(e)} Some deleted messages were not removed`);
    }
    this.#stats.deleted = deleted.length;
    this.#ok(
      deleted.length > 0 ? `Logging out, ${deleted.length} messages deleted.` : "Logging out.",
    );
  }

  // ---- helpers ----

  #mustView(): MaildropView {
    if (!this.#view) throw new Error("no maildrop in TRANSACTION state");
    return this.#view;
  }

  async #read(
    number: number,
    render: (bytes: Uint8Array) => WireText,
  ): Promise<WireText | undefined> {
    try {
      return render(await this.#mustDrop().read(number - 1));
    } catch (e) {
      this.#log(`warning: user=<${this.#account}>: reading message ${number}: ${errorText(e)}`);
      this.#err(`${sysCode(e)} Cannot read message ${number}`);
      return undefined;
    }
  }

  #mustDrop(): Pop3Maildrop {
    if (!this.#drop) throw new Error("no maildrop in TRANSACTION state");
    return this.#drop;
  }

  async #sendText(status: string, text: WireText): Promise<void> {
    this.#write(status);
    this.#conn.write(text.bytes);
    this.#queued += text.bytes.length;
    if (this.#queued > FLUSH_ABOVE) await this.#flush();
  }

  #plaintextAllowed(): boolean {
    return this.#s.plaintextAllowed({ address: this.#conn.remote.address, tls: this.#conn.tls });
  }

  #refusePlaintext(): Promise<void> {
    return this.#failAsync(PLAINTEXT_REFUSED);
  }

  #mechanisms(): string[] {
    return this.#plaintextAllowed() ? ["PLAIN"] : [];
  }

  #ok(text: string): void {
    this.#write(text === "" ? "+OK" : `+OK ${text}`);
  }

  #err(text: string): void {
    this.#write(`-ERR ${text}`);
  }

  /** A bad command: "-ERR text"; past errorLimit the session ends (Dovecot: too many bad commands). */
  #fail(text: string): void {
    this.#errors++;
    if (this.#errors >= this.#s.errorLimit) {
      this.#reason = "Too many bad commands";
      this.#closing = true;
      return this.#err(`${text}. Too many bad commands: closing connection`);
    }
    this.#err(text);
  }

  #failAsync(text: string): Promise<void> {
    this.#fail(text);
    return Promise.resolve();
  }

  #multiline(status: string, lines: string[]): void {
    // RFC 1939 3: byte-stuff lines that start with ".".
    const body = lines.map((l) => (l.startsWith(".") ? `.${l}` : l));
    this.#write([status, ...body, "."].join("\r\n"));
  }

  #write(line: string): void {
    this.#conn.write(`${line}\r\n`);
  }

  async #flush(): Promise<void> {
    this.#queued = 0;
    await this.#conn.flush();
  }

  #abort(error: unknown): void {
    if (error instanceof TimeoutError) {
      // RFC 1939 3: on autologout the server closes without a response and without UPDATE.
      this.#reason = "Inactivity";
    } else if (error instanceof EndOfInputError) {
      this.#reason = "Connection closed";
    } else {
      this.#reason = "Internal error";
      this.#log(`error: session with ${this.#ips()} failed: ${errorText(error, true)}`);
      this.#err("[SYS/TEMP] Internal error, closing connection");
    }
  }

  /** Releases what the session holds and writes the disconnect line. */
  #finish(): void {
    const drop = this.#drop;
    this.#drop = undefined;
    if (drop) {
      try {
        drop.release();
      } catch (e) {
        this.#log(`warning: user=<${this.#account}>: releasing the mailbox: ${errorText(e)}`);
      }
    }
    if (this.#account !== undefined) this.#ctx.users.release(this.#account);
    try {
      this.#log(this.#disconnectLine());
    } catch (e) {
      this.#log(`Disconnected: ${this.#reason}: ${this.#ips()} (${errorText(e)})`);
    }
  }

  /**
   * Dovecot's shapes: after login the pop3_logout_format default
   * "top=%t/%p, retr=%r/%b, del=%d/%m, size=%s"; before login the
   * login process's "Disconnected (auth failed, 2 attempts in 5 secs): user=<x>, ...".
   */
  #disconnectLine(): string {
    if (this.#account !== undefined && this.#view) {
      const s = this.#stats;
      const view = this.#view;
      const size = view.messages.reduce((n, m) => n + m.size, 0);
      return `Disconnected: ${this.#reason} top=${s.top}/${s.topBytes}, ` +
        `retr=${s.retr}/${s.retrBytes}, del=${s.deleted}/${view.messages.length}, size=${size}: ` +
        `user=<${this.#account}>, ${this.#ips()}`;
    }
    const secs = Math.round((Date.now() - this.#started) / 1000);
    const attempts = this.#authAttempts === 0
      ? `no auth attempts in ${secs} secs`
      : this.#authFailures > 0
      ? `auth failed, ${this.#authAttempts} attempts in ${secs} secs`
      : `${this.#authAttempts} auth attempts in ${secs} secs`;
    const reason = this.#reason === "Connection closed" || this.#reason === "Logged out"
      ? ""
      : `: ${this.#reason}`;
    const method = this.#method ? `, method=${this.#method}` : "";
    return `Disconnected${reason} (${attempts}): user=<${this.#triedUser}>${method}, ${this.#ips()}`;
  }

  #ips(): string {
    return `rip=${this.#conn.remote.address}, lip=${this.#conn.local.address}`;
  }

  #log(line: string): void {
    try {
      this.#ctx.log(line);
    } catch {
      // A broken log sink must not end the session.
    }
  }
}

/** RFC 3206 4: [SYS/PERM] for a permanent store failure, [SYS/TEMP] otherwise. */
function sysCode(error: unknown): string {
  return error instanceof MailError && !error.temporary ? "[SYS/PERM]" : "[SYS/TEMP]";
}

function errorText(error: unknown, stack = false): string {
  if (!(error instanceof Error)) return String(error);
  return stack ? error.stack ?? error.message : error.message;
}
