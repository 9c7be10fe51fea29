/**
 * Test helpers: an in-memory backend (users, maildrops with locks), a pop3d on
 * a loopback ephemeral port, and a raw POP3 client that sends exact bytes.
 */
import { LoginThrottle } from "../../src/auth/throttle.ts";
import {
  crlfSize,
  type Pop3Backend,
  type Pop3dSettings,
  type Pop3Maildrop,
  type Pop3Server,
  startPop3Server,
} from "../../src/pop3d/mod.ts";

const encoder = new TextEncoder();

export interface StoredMessage {
  uidl: string;
  bytes: Uint8Array;
}

/** Accounts with passwords and INBOXes; one lock per account; commits and releases recorded. */
export class FakeBackend implements Pop3Backend {
  readonly passwords = new Map<string, string>();
  readonly inboxes = new Map<string, StoredMessage[]>();
  readonly locked = new Set<string>();
  readonly commits: { account: string; deleted: number[] }[] = [];
  releases = 0;
  /** Set to make authenticate() throw (a store failure). */
  authFailure?: Error;
  /** Set to make read() throw. */
  readFailure?: Error;
  #next = 1;

  addUser(name: string, password: string, messages: (string | Uint8Array)[] = []): void {
    this.passwords.set(name, password);
    this.inboxes.set(name, []);
    for (const m of messages) this.deliver(name, m);
  }

  /** A new message; a session open now does not see it (snapshot at login). */
  deliver(account: string, message: string | Uint8Array): void {
    const bytes = typeof message === "string" ? encoder.encode(message) : message;
    this.inboxes.get(account)!.push({ uidl: `1700000000.M${this.#next++}P1.test`, bytes });
  }

  authenticate(user: string, password: string): Promise<{ account: string } | undefined> {
    if (this.authFailure) return Promise.reject(this.authFailure);
    const ok = this.passwords.get(user) === password;
    return Promise.resolve(ok ? { account: user } : undefined);
  }

  open(account: string): Promise<Pop3Maildrop | "in-use"> {
    if (this.locked.has(account)) return Promise.resolve("in-use");
    this.locked.add(account);
    const snapshot = [...this.inboxes.get(account) ?? []];
    let released = false;
    const drop: Pop3Maildrop = {
      messages: snapshot.map((m) => ({ uidl: m.uidl, size: crlfSize(m.bytes) })),
      read: (i) =>
        this.readFailure ? Promise.reject(this.readFailure) : Promise.resolve(snapshot[i].bytes),
      commit: (deleted) => {
        this.commits.push({ account, deleted: [...deleted] });
        const gone = new Set(deleted.map((i) => snapshot[i]));
        this.inboxes.set(account, this.inboxes.get(account)!.filter((m) => !gone.has(m)));
        return Promise.resolve();
      },
      release: () => {
        if (released) throw new Error("release() called twice");
        released = true;
        this.releases++;
        this.locked.delete(account);
      },
    };
    return Promise.resolve(drop);
  }
}

export interface TestServer {
  port: number;
  backend: FakeBackend;
  logs: string[];
  server: Pop3Server;
  close(): Promise<void>;
}

/** A throttle that never delays (the throttle itself is tested in tests/auth). */
export function noDelayThrottle(): LoginThrottle {
  return new LoginThrottle({
    policy: {
      pair: { free: 1e9, baseMs: 0, capMs: 0 },
      client: { free: 1e9, baseMs: 0, capMs: 0 },
      account: { free: 1e9, baseMs: 0, capMs: 0 },
    },
  });
}

export async function startTestServer(
  backend = new FakeBackend(),
  settings: Partial<Pop3dSettings> = {},
  throttle = noDelayThrottle(),
): Promise<TestServer> {
  const logs: string[] = [];
  const server = await startPop3Server(
    { backend, settings, throttle, log: (line) => logs.push(line) },
    { host: "127.0.0.1", port: 0 },
  );
  return { port: server.address.port, backend, logs, server, close: () => server.close(500) };
}

/** Runs `body` against a fresh server, closing it afterwards. */
export async function withServer(
  backend: FakeBackend,
  body: (srv: TestServer) => Promise<void>,
  settings: Partial<Pop3dSettings> = {},
  throttle?: LoginThrottle,
): Promise<void> {
  const srv = await startTestServer(backend, settings, throttle);
  try {
    await body(srv);
  } finally {
    await srv.close();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `test` holds (the server logs and releases after the client has gone). */
export async function eventually(test: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await sleep(10);
  }
}

const latin1 = new TextDecoder("latin1");

/** A POP3 client writing exact bytes; text is read as latin1 so every byte maps to one char. */
export class RawClient {
  #conn: Deno.Conn;
  #buffer = "";
  #eof = false;
  #reading?: Promise<void>;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Connects and reads the greeting. */
  static async open(port: number): Promise<{ client: RawClient; greeting: string }> {
    const client = new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
    return { client, greeting: await client.line() };
  }

  /** Connects and logs in with USER/PASS. */
  static async login(port: number, user: string, password: string): Promise<RawClient> {
    const { client } = await RawClient.open(port);
    await client.command(`USER ${user}`);
    const reply = await client.command(`PASS ${password}`);
    if (!reply.startsWith("+OK")) throw new Error(`login failed: ${reply}`);
    return client;
  }

  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let written = 0;
    while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
  }

  /** Sends one line (CRLF added), returns the status line. */
  async command(line: string): Promise<string> {
    await this.send(`${line}\r\n`);
    return await this.line();
  }

  /** Sends one line; returns the status line and, after +OK, the raw body up to and with ".\r\n". */
  async multi(line: string): Promise<{ status: string; body: string }> {
    await this.send(`${line}\r\n`);
    return await this.readMulti();
  }

  async readMulti(): Promise<{ status: string; body: string }> {
    const status = await this.line();
    if (!status.startsWith("+OK")) return { status, body: "" };
    return { status, body: await this.until("\r\n.\r\n", true) };
  }

  /** The next line without CRLF. */
  async line(ms = 5000): Promise<string> {
    const text = await this.until("\r\n", false, ms);
    return text.slice(0, -2);
  }

  /**
   * Text up to and including `end`. With `afterLineStart` a body that is
   * just ".\r\n" (an empty list) also ends it.
   */
  async until(end: string, afterLineStart = false, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (afterLineStart && this.#buffer.startsWith(".\r\n")) {
        this.#buffer = this.#buffer.slice(3);
        return ".\r\n";
      }
      const at = this.#buffer.indexOf(end);
      if (at >= 0) {
        const out = this.#buffer.slice(0, at + end.length);
        this.#buffer = this.#buffer.slice(at + end.length);
        return out;
      }
      if (this.#eof) throw new Error(`connection closed; unread: ${JSON.stringify(this.#buffer)}`);
      if (Date.now() > deadline) {
        throw new Error(`no reply; buffered: ${JSON.stringify(this.#buffer)}`);
      }
      await this.#fill(deadline - Date.now());
    }
  }

  /** Reads until the server closes (then closes too, as clients do); returns what was not read yet. */
  async rest(ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!this.#eof) {
      if (Date.now() > deadline) throw new Error("server did not close the connection");
      await this.#fill(deadline - Date.now());
    }
    this.close();
    const out = this.#buffer;
    this.#buffer = "";
    return out;
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  async #fill(ms: number): Promise<void> {
    this.#reading ??= (async () => {
      const buf = new Uint8Array(65536);
      let n: number | null = null;
      try {
        n = await this.#conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) this.#eof = true;
      else this.#buffer += latin1.decode(buf.subarray(0, n));
      this.#reading = undefined;
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#reading,
      new Promise((r) => (timer = setTimeout(r, Math.max(ms, 1)))),
    ]);
    clearTimeout(timer);
  }
}
